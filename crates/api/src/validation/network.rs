//! Ingresses, storage classes and endpoint slices.

use serde_json::{Value, json};

use super::Cause;
use super::names;
use super::util::{arr, idx, join, one_of, port_range, s};

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// networking.k8s.io/v1 Ingress.
pub fn ingress(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    let rules = arr(sp, "rules");
    if rules.is_empty() && sp.get("defaultBackend").is_none_or(Value::is_null) {
        errs.push(Cause::invalid_repr(
            "spec.rules",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = sp.get("defaultBackend").filter(|v| !v.is_null()) {
        backend(&mut errs, b, "spec.defaultBackend");
    }
    for (i, r) in rules.iter().enumerate() {
        let base = idx("spec.rules", i);
        let host = s(r, "host");
        if !host.is_empty() {
            let h = host.strip_prefix("*.").unwrap_or(host);
            for msg in names::dns1123_subdomain(h) {
                errs.push(Cause::invalid(&join(&base, "host"), &json!(host), &msg));
            }
        }
        for (j, p) in r
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let pbase = idx(&join(&base, "http.paths"), j);
            let pt = s(p, "pathType");
            if pt.is_empty() {
                errs.push(Cause::required(
                    &join(&pbase, "pathType"),
                    "pathType must be specified",
                ));
            } else {
                one_of(
                    &mut errs,
                    p,
                    "pathType",
                    &pbase,
                    &["Exact", "ImplementationSpecific", "Prefix"],
                );
            }
            let path = s(p, "path");
            if (pt == "Exact" || pt == "Prefix") && !path.starts_with('/') {
                errs.push(Cause::invalid(
                    &join(&pbase, "path"),
                    &json!(path),
                    "must be an absolute path",
                ));
            }
            backend(
                &mut errs,
                p.get("backend").unwrap_or(&Value::Null),
                &join(&pbase, "backend"),
            );
        }
    }
    errs
}

fn backend(errs: &mut Vec<Cause>, b: &Value, path: &str) {
    let svc = b.get("service").filter(|v| !v.is_null());
    let res = b.get("resource").filter(|v| !v.is_null());
    match (svc, res) {
        (None, None) => errs.push(Cause::invalid_repr(
            path,
            "networking.IngressBackend{...}",
            "resource or service backend is required",
        )),
        (Some(_), Some(_)) => errs.push(Cause::invalid_repr(
            path,
            "networking.IngressBackend{...}",
            "cannot set both resource and service backends",
        )),
        (Some(svc), None) => {
            if s(svc, "name").is_empty() {
                errs.push(Cause::required(&join(path, "service.name"), ""));
            }
            let port = svc.get("port").unwrap_or(&Value::Null);
            let has_name = !s(port, "name").is_empty();
            let has_num = port
                .get("number")
                .and_then(Value::as_i64)
                .is_some_and(|n| n != 0);
            if has_name && has_num {
                errs.push(Cause::invalid_repr(
                    &join(path, "service.port"),
                    "networking.ServiceBackendPort{...}",
                    "cannot set both port name & port number",
                ));
            } else if !has_name && !has_num {
                errs.push(Cause::invalid_repr(
                    &join(path, "service.port"),
                    "networking.ServiceBackendPort{...}",
                    "port name or number is required",
                ));
            } else if has_num && let Some(n) = port.get("number") {
                port_range(errs, n, &join(path, "service.port.number"));
            }
        }
        (None, Some(_)) => {}
    }
}

/// storage.k8s.io/v1 StorageClass.
pub fn storage_class(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if s(obj, "provisioner").is_empty() {
        errs.push(Cause::required("provisioner", ""));
    }
    one_of(&mut errs, obj, "reclaimPolicy", "", &["Delete", "Retain"]);
    one_of(
        &mut errs,
        obj,
        "volumeBindingMode",
        "",
        &["Immediate", "WaitForFirstConsumer"],
    );
    errs
}

/// Parameters, provisioner, reclaim policy and binding mode never change.
pub fn storage_class_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if new.get("parameters") != old.get("parameters") {
        errs.push(Cause::forbidden(
            "parameters",
            "updates to parameters are forbidden.",
        ));
    }
    if new.get("provisioner") != old.get("provisioner") {
        errs.push(Cause::forbidden(
            "provisioner",
            "updates to provisioner are forbidden.",
        ));
    }
    if new.get("reclaimPolicy") != old.get("reclaimPolicy") {
        errs.push(Cause::forbidden(
            "reclaimPolicy",
            "updates to reclaimPolicy are forbidden.",
        ));
    }
    if new.get("volumeBindingMode") != old.get("volumeBindingMode") {
        errs.push(Cause::forbidden("volumeBindingMode", "field is immutable"));
    }
    errs
}

/// discovery.k8s.io/v1 EndpointSlice.
pub fn endpoint_slice(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    match obj.get("addressType").and_then(Value::as_str) {
        None | Some("") => errs.push(Cause::required("addressType", "")),
        Some(_) => one_of(&mut errs, obj, "addressType", "", &["FQDN", "IPv4", "IPv6"]),
    }
    for (i, e) in arr(obj, "endpoints").iter().enumerate() {
        if arr(e, "addresses").is_empty() {
            errs.push(Cause::required(
                &join(&idx("endpoints", i), "addresses"),
                "must contain at least 1 address",
            ));
        }
    }
    errs
}
