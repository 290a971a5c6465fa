//! Defaulting as upstream (pod restartPolicy, deployment strategy, ...).
