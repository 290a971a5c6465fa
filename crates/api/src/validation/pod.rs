//! Pod and pod template validation, and upstream's narrow pod update rules.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::names;
use super::util::{arr, idx, join, non_negative, one_of, port_range, s};
use super::{Cause, meta};
use crate::quantity;

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// Upstream's message when a pod update touches anything else.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// A Pod object.
pub fn validate_pod(obj: &Value) -> Vec<Cause> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let mut errs = Vec::new();
    pod_spec(&mut errs, spec, "spec", true);
    errs
}

/// A pod template at `path` (e.g. `spec.template`): labels and the pod spec.
pub fn template(errs: &mut Vec<Cause>, template: Option<&Value>, path: &str) {
    let Some(t) = template.filter(|t| t.is_object()) else {
        errs.push(Cause::required(path, ""));
        return;
    };
    meta::labels(
        errs,
        t.pointer("/metadata/labels"),
        &join(path, "metadata.labels"),
    );
    pod_spec(
        errs,
        t.get("spec").unwrap_or(&Value::Null),
        &join(path, "spec"),
        false,
    );
}

/// A PodSpec at `path`; `is_pod` adds the checks only real pods get (image required).
pub fn pod_spec(errs: &mut Vec<Cause>, spec: &Value, path: &str, is_pod: bool) {
    let volumes = volumes(errs, spec, path);
    if arr(spec, "containers").is_empty() {
        errs.push(Cause::required(&join(path, "containers"), ""));
    }
    let mut seen = HashSet::new();
    for key in ["initContainers", "containers"] {
        for (i, c) in arr(spec, key).iter().enumerate() {
            container(
                errs,
                c,
                &idx(&join(path, key), i),
                is_pod,
                &volumes,
                &mut seen,
            );
        }
    }
    one_of(errs, spec, "restartPolicy", path, RESTART_POLICIES);
    one_of(errs, spec, "dnsPolicy", path, DNS_POLICIES);
    for (key, label) in [
        ("hostname", true),
        ("subdomain", true),
        ("nodeName", false),
        ("serviceAccountName", false),
    ] {
        let v = s(spec, key);
        if v.is_empty() {
            continue;
        }
        let msgs = if label {
            names::dns1123_label(v)
        } else {
            names::dns1123_subdomain(v)
        };
        for msg in msgs {
            errs.push(Cause::invalid(&join(path, key), &json!(v), &msg));
        }
    }
    non_negative(errs, spec, "terminationGracePeriodSeconds", path);
    if let Some(n) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&n)
    {
        errs.push(Cause::invalid(
            &join(path, "activeDeadlineSeconds"),
            &json!(n),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    if spec.get("dnsPolicy").and_then(Value::as_str) == Some("None")
        && spec.get("dnsConfig").is_none_or(Value::is_null)
    {
        errs.push(Cause::required(
            &join(path, "dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ));
    }
    for (i, t) in arr(spec, "tolerations").iter().enumerate() {
        let base = idx(&join(path, "tolerations"), i);
        one_of(errs, t, "operator", &base, &["Equal", "Exists"]);
        one_of(
            errs,
            t,
            "effect",
            &base,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        );
        if s(t, "operator") == "Exists" && !s(t, "value").is_empty() {
            errs.push(Cause::invalid(
                &join(&base, "operator"),
                &json!(s(t, "value")),
                "value must be empty when `operator` is 'Exists'",
            ));
        }
    }
}

fn volumes(errs: &mut Vec<Cause>, spec: &Value, path: &str) -> HashSet<String> {
    let mut names_seen = HashSet::new();
    for (i, v) in arr(spec, "volumes").iter().enumerate() {
        let base = idx(&join(path, "volumes"), i);
        let name = s(v, "name");
        if name.is_empty() {
            errs.push(Cause::required(&join(&base, "name"), ""));
        } else {
            for msg in names::dns1123_label(name) {
                errs.push(Cause::invalid(&join(&base, "name"), &json!(name), &msg));
            }
            if !names_seen.insert(name.to_string()) {
                errs.push(Cause::duplicate(&join(&base, "name"), &json!(name)));
            }
        }
        volume_source(errs, v, &base);
    }
    names_seen
}

/// Volume source keys (everything in a Volume but its name).
fn volume_source(errs: &mut Vec<Cause>, v: &Value, base: &str) {
    let Some(m) = v.as_object() else {
        return;
    };
    let sources: Vec<&String> = m
        .iter()
        .filter(|(k, val)| k.as_str() != "name" && !val.is_null())
        .map(|(k, _)| k)
        .collect();
    if sources.len() > 1 {
        errs.push(Cause::forbidden(
            base,
            "may not specify more than 1 volume type",
        ));
    }
    let required = |errs: &mut Vec<Cause>, src: &str, key: &str| {
        if let Some(o) = v.get(src).filter(|o| o.is_object())
            && s(o, key).is_empty()
        {
            errs.push(Cause::required(&join(base, &format!("{src}.{key}")), ""));
        }
    };
    required(errs, "configMap", "name");
    required(errs, "secret", "secretName");
    required(errs, "persistentVolumeClaim", "claimName");
    required(errs, "hostPath", "path");
    required(errs, "nfs", "server");
    required(errs, "nfs", "path");
    for key in ["configMap", "secret", "downwardAPI", "projected"] {
        if let Some(mode) = v
            .get(key)
            .and_then(|o| o.get("defaultMode"))
            .and_then(Value::as_i64)
            && !(0..=0o777).contains(&mode)
        {
            errs.push(Cause::invalid(
                &join(base, &format!("{key}.defaultMode")),
                &json!(mode),
                "must be a number between 0 and 0777 (octal), both inclusive",
            ));
        }
    }
}

const PROBE_HANDLERS: &[&str] = &["exec", "httpGet", "tcpSocket", "grpc"];

fn probe(errs: &mut Vec<Cause>, c: &Value, key: &str, path: &str) {
    let Some(p) = c.get(key).filter(|p| p.is_object()) else {
        return;
    };
    let base = join(path, key);
    let handlers = PROBE_HANDLERS
        .iter()
        .filter(|h| p.get(**h).is_some_and(|v| !v.is_null()))
        .count();
    if handlers == 0 {
        errs.push(Cause::required(&base, "must specify a handler type"));
    } else if handlers > 1 {
        errs.push(Cause::forbidden(
            &base,
            "may not specify more than 1 handler type",
        ));
    }
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        non_negative(errs, p, field, &base);
    }
    if key != "readinessProbe"
        && let Some(n) = p.get("successThreshold").and_then(Value::as_i64)
        && n != 1
    {
        errs.push(Cause::invalid(
            &join(&base, "successThreshold"),
            &json!(n),
            "must be 1",
        ));
    }
    if let Some(port) = p
        .pointer("/httpGet/port")
        .or_else(|| p.pointer("/tcpSocket/port"))
    {
        let field = if p.get("httpGet").is_some() {
            "httpGet.port"
        } else {
            "tcpSocket.port"
        };
        match port {
            Value::Number(_) => port_range(errs, port, &join(&base, field)),
            Value::String(name) => {
                for msg in names::port_name(name) {
                    errs.push(Cause::invalid(&join(&base, field), port, &msg));
                }
            }
            _ => {}
        }
    }
}

fn container(
    errs: &mut Vec<Cause>,
    c: &Value,
    path: &str,
    is_pod: bool,
    volumes: &HashSet<String>,
    seen: &mut HashSet<String>,
) {
    let name = s(c, "name");
    if name.is_empty() {
        errs.push(Cause::required(&join(path, "name"), ""));
    } else {
        for msg in names::dns1123_label(name) {
            errs.push(Cause::invalid(&join(path, "name"), &json!(name), &msg));
        }
        if !seen.insert(name.to_string()) {
            errs.push(Cause::duplicate(&join(path, "name"), &json!(name)));
        }
    }
    let image = s(c, "image");
    if is_pod && image.is_empty() {
        errs.push(Cause::required(&join(path, "image"), ""));
    } else if image.trim() != image {
        errs.push(Cause::invalid(
            &join(path, "image"),
            &json!(image),
            "must not have leading or trailing whitespace",
        ));
    }
    one_of(errs, c, "imagePullPolicy", path, PULL_POLICIES);
    one_of(
        errs,
        c,
        "terminationMessagePolicy",
        path,
        &["File", "FallbackToLogsOnError"],
    );
    let mut port_names = HashSet::new();
    for (i, p) in arr(c, "ports").iter().enumerate() {
        let base = idx(&join(path, "ports"), i);
        match p.get("containerPort") {
            None | Some(Value::Null) => {
                errs.push(Cause::required(&join(&base, "containerPort"), ""))
            }
            Some(v) => port_range(errs, v, &join(&base, "containerPort")),
        }
        if let Some(hp) = p.get("hostPort").filter(|v| v.as_i64() != Some(0)) {
            port_range(errs, hp, &join(&base, "hostPort"));
        }
        one_of(errs, p, "protocol", &base, PROTOCOLS);
        let pname = s(p, "name");
        if !pname.is_empty() {
            for msg in names::port_name(pname) {
                errs.push(Cause::invalid(&join(&base, "name"), &json!(pname), &msg));
            }
            if !port_names.insert(pname.to_string()) {
                errs.push(Cause::duplicate(&join(&base, "name"), &json!(pname)));
            }
        }
    }
    for (i, e) in arr(c, "env").iter().enumerate() {
        if s(e, "name").is_empty() {
            errs.push(Cause::required(
                &join(&idx(&join(path, "env"), i), "name"),
                "",
            ));
        }
    }
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let base = idx(&join(path, "volumeMounts"), i);
        let vname = s(m, "name");
        if vname.is_empty() {
            errs.push(Cause::required(&join(&base, "name"), ""));
        } else if !volumes.contains(vname) {
            errs.push(Cause::not_found(&join(&base, "name"), &json!(vname)));
        }
        if s(m, "mountPath").is_empty() {
            errs.push(Cause::required(&join(&base, "mountPath"), ""));
        }
    }
    resources(errs, c.get("resources"), &join(path, "resources"));
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        probe(errs, c, key, path);
    }
}

fn resources(errs: &mut Vec<Cause>, res: Option<&Value>, path: &str) {
    let Some(res) = res else {
        return;
    };
    let mut parsed = |key: &str| -> Vec<(String, quantity::Quantity)> {
        let mut out = Vec::new();
        let Some(map) = res.get(key).and_then(Value::as_object) else {
            return out;
        };
        for (name, v) in map {
            let field = format!("{}[{name}]", join(path, key));
            match quantity::from_json(v) {
                None => errs.push(Cause::invalid(
                    &field,
                    v,
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                )),
                Some(q) if q.nanos() < 0 => {
                    errs.push(Cause::invalid(&field, v, "must be greater than or equal to 0"))
                }
                Some(q) => out.push((name.clone(), q)),
            }
        }
        out
    };
    let limits = parsed("limits");
    let requests = parsed("requests");
    for (name, req) in &requests {
        if let Some((_, lim)) = limits.iter().find(|(n, _)| n == name)
            && req > lim
        {
            errs.push(Cause::invalid(
                &format!("{}[{name}]", join(path, "requests")),
                &json!(req.to_string()),
                &format!("must be less than or equal to {name} limit of {lim}"),
            ));
        }
    }
}

/// Pods may change only images, activeDeadlineSeconds, tolerations (additions) and a
/// negative terminationGracePeriodSeconds (to 1).
pub fn validate_pod_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return errs;
    };
    if let (Some(n), Some(o)) = (
        new_spec
            .get("activeDeadlineSeconds")
            .and_then(Value::as_i64),
        old_spec
            .get("activeDeadlineSeconds")
            .and_then(Value::as_i64),
    ) && n > o
    {
        errs.push(Cause::invalid(
            "spec.activeDeadlineSeconds",
            &json!(n),
            "must be less than or equal to previous value",
        ));
    }
    if new_spec
        .get("activeDeadlineSeconds")
        .is_none_or(Value::is_null)
        && old_spec
            .get("activeDeadlineSeconds")
            .is_some_and(|v| !v.is_null())
    {
        errs.push(Cause::invalid(
            "spec.activeDeadlineSeconds",
            &Value::Null,
            "must not update from a positive integer to nil value",
        ));
    }
    let mut masked = new_spec.clone();
    for key in ["containers", "initContainers"] {
        let old_list = arr(old_spec, key);
        if let Some(list) = masked.get_mut(key).and_then(Value::as_array_mut) {
            for (i, c) in list.iter_mut().enumerate() {
                if let (Some(o), Some(m)) = (old_list.get(i), c.as_object_mut()) {
                    match o.get("image") {
                        Some(img) => m.insert("image".into(), img.clone()),
                        None => m.remove("image"),
                    };
                }
            }
        }
    }
    let copy_from_old = |m: &mut Value, key: &str| {
        if let Some(obj) = m.as_object_mut() {
            match old_spec.get(key) {
                Some(v) => obj.insert(key.into(), v.clone()),
                None => obj.remove(key),
            };
        }
    };
    copy_from_old(&mut masked, "activeDeadlineSeconds");
    let old_tols = arr(old_spec, "tolerations");
    let new_tols = arr(new_spec, "tolerations");
    if old_tols.iter().all(|t| new_tols.contains(t)) {
        copy_from_old(&mut masked, "tolerations");
    }
    let old_grace = old_spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let new_grace = new_spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
        copy_from_old(&mut masked, "terminationGracePeriodSeconds");
    }
    if &masked != old_spec {
        errs.push(Cause::forbidden("spec", POD_UPDATE_FORBIDDEN));
    }
    errs
}
