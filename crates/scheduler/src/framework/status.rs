//! The result of a plugin at an extension point: a code and reasons, as upstream's Status.

/// What a plugin decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Success,
    /// An internal failure; the pod is retried with backoff.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and preemption on this node cannot help.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod; its later points are skipped.
    Skip,
}

/// A code with human-readable reasons and the plugin that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    pub plugin: &'static str,
}

impl Status {
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: vec![],
            plugin: "",
        }
    }

    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
            reasons: vec![],
            plugin: "",
        }
    }

    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }

    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    pub fn error(reason: impl Into<String>) -> Status {
        Status::new(Code::Error, reason)
    }

    pub fn with_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Unschedulable of either kind.
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}
