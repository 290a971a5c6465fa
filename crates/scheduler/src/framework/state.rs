//! Per-cycle state plugins compute in PreFilter/PreScore and read in Filter/Score.

use std::any::Any;
use std::collections::HashMap;

/// Data a plugin keeps in the cycle state; cloned when preemption simulates removals.
pub trait StateData: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Plugin data for one scheduling cycle, keyed by plugin.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn StateData>>,
    /// Plugins that returned Skip at PreFilter (their Filter is not run).
    pub skip_filter: Vec<&'static str>,
    /// Bit i set: the framework's filter i is skipped (derived from `skip_filter`).
    pub skip_filter_mask: u64,
    /// Plugins that returned Skip at PreScore (their Score is not run).
    pub skip_score: Vec<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self
                .data
                .iter()
                .map(|(k, v)| (*k, (**v).clone_box()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_filter_mask: self.skip_filter_mask,
            skip_score: self.skip_score.clone(),
        }
    }
}

impl CycleState {
    pub fn write<T: StateData>(&mut self, key: &'static str, v: T) {
        self.data.insert(key, Box::new(v));
    }

    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.data
            .get(key)
            .and_then(|b| (**b).as_any().downcast_ref())
    }

    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data
            .get_mut(key)
            .and_then(|b| (**b).as_any_mut().downcast_mut())
    }
}
