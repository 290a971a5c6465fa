//! Node IPAM controller.
