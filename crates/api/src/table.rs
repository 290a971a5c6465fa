//! Table conversion: upstream printer columns per kind (kubectl get).
