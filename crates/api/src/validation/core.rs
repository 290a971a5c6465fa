//! Core kinds: services, config maps, secrets, volumes, nodes.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Cause;
use super::names;
use super::util::{arr, idx, immutable, join, one_of, port_range, s};
use crate::quantity;

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const MAX_CONFIG_SIZE: usize = 1024 * 1024;
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn spec(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// core/v1 Service.
pub fn service(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    let ty = match s(sp, "type") {
        "" => "ClusterIP",
        t => t,
    };
    one_of(
        &mut errs,
        sp,
        "type",
        "spec",
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    );
    one_of(
        &mut errs,
        sp,
        "sessionAffinity",
        "spec",
        &["ClientIP", "None"],
    );
    let headless = s(sp, "clusterIP") == "None";
    let ports = arr(sp, "ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(Cause::required("spec.ports", ""));
    }
    if ty == "ExternalName" {
        let en = s(sp, "externalName");
        if en.is_empty() {
            errs.push(Cause::required("spec.externalName", ""));
        } else {
            for msg in names::dns1123_subdomain(en.trim_end_matches('.')) {
                errs.push(Cause::invalid("spec.externalName", &json!(en), &msg));
            }
        }
    }
    if headless && (ty == "NodePort" || ty == "LoadBalancer") {
        errs.push(Cause::invalid(
            "spec.clusterIPs[0]",
            &json!("None"),
            &format!("may not be set to 'None' for {ty} services"),
        ));
    }
    let mut names_seen = HashSet::new();
    let mut port_proto = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let base = idx("spec.ports", i);
        let name = s(p, "name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(Cause::required(&join(&base, "name"), ""));
        }
        if !name.is_empty() {
            for msg in names::dns1123_label(name) {
                errs.push(Cause::invalid(&join(&base, "name"), &json!(name), &msg));
            }
            if !names_seen.insert(name.to_string()) {
                errs.push(Cause::duplicate(&join(&base, "name"), &json!(name)));
            }
        }
        match p.get("port") {
            None | Some(Value::Null) => errs.push(Cause::required(&join(&base, "port"), "")),
            Some(v) => port_range(&mut errs, v, &join(&base, "port")),
        }
        one_of(&mut errs, p, "protocol", &base, PROTOCOLS);
        match p.get("targetPort") {
            Some(Value::Number(_)) => {
                if let Some(tp) = p.get("targetPort") {
                    port_range(&mut errs, tp, &join(&base, "targetPort"));
                }
            }
            Some(Value::String(tp)) if !tp.is_empty() => {
                for msg in names::port_name(tp) {
                    errs.push(Cause::invalid(&join(&base, "targetPort"), &json!(tp), &msg));
                }
            }
            _ => {}
        }
        if let Some(np) = p
            .get("nodePort")
            .filter(|v| v.as_i64().is_some_and(|n| n != 0))
        {
            if ty != "NodePort" && ty != "LoadBalancer" {
                errs.push(Cause::forbidden(
                    &join(&base, "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else {
                port_range(&mut errs, np, &join(&base, "nodePort"));
            }
        }
        let key = (p.get("port").cloned(), s(p, "protocol").to_string());
        if !port_proto.insert(format!("{:?}", key)) {
            errs.push(Cause::duplicate(
                &base,
                &json!(format!(
                    "{}/{}",
                    p.get("port").unwrap_or(&Value::Null),
                    s(p, "protocol")
                )),
            ));
        }
    }
    if let Some(sel) = sp.get("selector") {
        super::meta::labels(&mut errs, Some(sel), "spec.selector");
    }
    if ty == "ClusterIP" || ty == "ExternalName" {
        if sp
            .get("externalTrafficPolicy")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
        {
            errs.push(Cause::invalid(
                "spec.externalTrafficPolicy",
                sp.get("externalTrafficPolicy").unwrap_or(&Value::Null),
                "may only be set for externally-accessible services",
            ));
        }
    } else {
        one_of(
            &mut errs,
            sp,
            "externalTrafficPolicy",
            "spec",
            &["Cluster", "Local"],
        );
    }
    one_of(
        &mut errs,
        sp,
        "internalTrafficPolicy",
        "spec",
        &["Cluster", "Local"],
    );
    errs
}

/// clusterIP may not change once allocated.
pub fn service_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let old_ip = s(spec(old), "clusterIP");
    let new_ip = s(spec(new), "clusterIP");
    let old_type = s(spec(old), "type");
    let new_type = s(spec(new), "type");
    // Moving to or from ExternalName releases/allocates the IP; otherwise it is fixed.
    if !old_ip.is_empty()
        && old_ip != new_ip
        && old_type != "ExternalName"
        && new_type != "ExternalName"
    {
        errs.push(Cause::invalid(
            "spec.clusterIP",
            &json!(new_ip),
            "field is immutable",
        ));
    }
    errs
}

fn data_keys(errs: &mut Vec<Cause>, obj: &Value, decode_b64: bool) -> usize {
    let mut total = 0;
    let mut seen = HashSet::new();
    for field in ["data", "binaryData", "stringData"] {
        let Some(map) = obj.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (k, v) in map {
            for msg in names::config_key(k) {
                errs.push(Cause::invalid(&format!("{field}[{k}]"), &json!(k), &msg));
            }
            if field != "stringData" && !seen.insert(k.clone()) {
                errs.push(Cause::invalid(
                    &format!("{field}[{k}]"),
                    &json!(k),
                    "duplicate of key present in data",
                ));
            }
            let len = v.as_str().map_or(0, str::len);
            let encoded = decode_b64 || field == "binaryData";
            total += if encoded && field != "stringData" {
                len / 4 * 3
            } else {
                len
            };
        }
    }
    total
}

/// core/v1 ConfigMap.
pub fn config_map(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if data_keys(&mut errs, obj, false) > MAX_CONFIG_SIZE {
        errs.push(Cause::too_long("", MAX_CONFIG_SIZE));
    }
    errs
}

/// core/v1 Secret.
pub fn secret(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if data_keys(&mut errs, obj, true) > MAX_CONFIG_SIZE {
        errs.push(Cause::too_long("data", MAX_CONFIG_SIZE));
    }
    let has = |k: &str| {
        ["data", "stringData"]
            .iter()
            .any(|f| obj.get(*f).and_then(|d| d.get(k)).is_some())
    };
    match s(obj, "type") {
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(Cause::required(&format!("data[{k}]"), ""));
                }
            }
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errs.push(Cause::required("data[.dockerconfigjson]", ""));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            errs.push(Cause::required("data[.dockercfg]", ""));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(Cause::required("data[username]", ""));
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => {
            errs.push(Cause::required("data[ssh-privatekey]", ""));
        }
        "kubernetes.io/service-account-token"
            if obj
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty) =>
        {
            errs.push(Cause::required(
                "metadata.annotations[kubernetes.io/service-account.name]",
                "",
            ));
        }
        _ => {}
    }
    errs
}

/// Data of an `immutable: true` ConfigMap/Secret cannot change; a Secret's type never can.
pub fn immutable_data_update(kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if kind == "Secret" && s(new, "type") != s(old, "type") {
        errs.push(Cause::invalid(
            "type",
            &json!(s(new, "type")),
            "field is immutable",
        ));
    }
    if old.get("immutable").and_then(Value::as_bool) == Some(true) {
        const MSG: &str = "field is immutable when `immutable` is set";
        if new.get("immutable").and_then(Value::as_bool) != Some(true) {
            errs.push(Cause::forbidden("immutable", MSG));
        }
        for field in ["data", "binaryData"] {
            let n = new.get(field).filter(|v| !v.is_null());
            let o = old.get(field).filter(|v| !v.is_null());
            if n != o {
                errs.push(Cause::forbidden(field, MSG));
            }
        }
    }
    errs
}

fn storage_request(errs: &mut Vec<Cause>, sp: &Value) {
    match sp.pointer("/resources/requests/storage") {
        None | Some(Value::Null) => errs.push(Cause::required("spec.resources[storage]", "")),
        Some(v) => match quantity::from_json(v) {
            Some(q) if q.nanos() > 0 => {}
            Some(_) => errs.push(Cause::invalid(
                "spec.resources[storage]",
                v,
                "must be greater than zero",
            )),
            None => errs.push(Cause::invalid(
                "spec.resources[storage]",
                v,
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )),
        },
    }
}

fn access_modes(errs: &mut Vec<Cause>, sp: &Value) {
    let modes = arr(sp, "accessModes");
    if modes.is_empty() {
        errs.push(Cause::required(
            "spec.accessModes",
            "at least 1 access mode is required",
        ));
    }
    for m in modes {
        if !m.as_str().is_some_and(|m| ACCESS_MODES.contains(&m)) {
            errs.push(Cause::not_supported("spec.accessModes", m, ACCESS_MODES));
        }
    }
}

/// core/v1 PersistentVolumeClaim.
pub fn pvc(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    access_modes(&mut errs, sp);
    storage_request(&mut errs, sp);
    one_of(
        &mut errs,
        sp,
        "volumeMode",
        "spec",
        &["Block", "Filesystem"],
    );
    errs
}

/// A claim's spec is immutable except storage requests, the attributes class, and the
/// one-time binding of volumeName.
pub fn pvc_update(new: &Value, old: &Value) -> Vec<Cause> {
    let strip = |v: &Value, other: &Value| {
        let mut m = spec(v).as_object().cloned().unwrap_or_default();
        if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
            r.remove("requests");
        }
        m.remove("volumeAttributesClassName");
        if s(spec(other), "volumeName").is_empty() || s(spec(v), "volumeName").is_empty() {
            m.remove("volumeName");
        }
        m
    };
    if strip(new, old) != strip(old, new) {
        vec![Cause::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        )]
    } else {
        Vec::new()
    }
}

/// core/v1 PersistentVolume.
pub fn pv(obj: &Value) -> Vec<Cause> {
    let sp = spec(obj);
    let mut errs = Vec::new();
    access_modes(&mut errs, sp);
    match sp.pointer("/capacity/storage") {
        None | Some(Value::Null) => errs.push(Cause::required("spec.capacity", "")),
        Some(v) => {
            if quantity::from_json(v).is_none() {
                errs.push(Cause::invalid("spec.capacity[storage]", v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
            }
        }
    }
    const SOURCES: &[&str] = &[
        "hostPath",
        "local",
        "nfs",
        "csi",
        "iscsi",
        "fc",
        "rbd",
        "cephfs",
        "glusterfs",
        "awsElasticBlockStore",
        "gcePersistentDisk",
        "azureDisk",
        "azureFile",
        "cinder",
        "flexVolume",
        "flocker",
        "vsphereVolume",
        "quobyte",
        "photonPersistentDisk",
        "portworxVolume",
        "scaleIO",
        "storageos",
    ];
    if !SOURCES
        .iter()
        .any(|k| sp.get(*k).is_some_and(|v| !v.is_null()))
    {
        errs.push(Cause::required("spec", "must specify a volume type"));
    }
    one_of(
        &mut errs,
        sp,
        "persistentVolumeReclaimPolicy",
        "spec",
        &["Delete", "Recycle", "Retain"],
    );
    errs
}

/// core/v1 Node: taints.
pub fn node(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, t) in arr(spec(obj), "taints").iter().enumerate() {
        let base = idx("spec.taints", i);
        let key = s(t, "key");
        if key.is_empty() {
            errs.push(Cause::required(&join(&base, "key"), ""));
        } else {
            for msg in names::qualified_name(key) {
                errs.push(Cause::invalid(&join(&base, "key"), &json!(key), &msg));
            }
        }
        match t.get("effect").and_then(Value::as_str) {
            None | Some("") => errs.push(Cause::required(&join(&base, "effect"), "")),
            Some(_) => one_of(
                &mut errs,
                t,
                "effect",
                &base,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ),
        }
    }
    errs
}

/// `field is immutable` for each top-level key in `keys`.
pub fn immutable_fields(new: &Value, old: &Value, keys: &[&str]) -> Vec<Cause> {
    let mut errs = Vec::new();
    for k in keys {
        immutable(&mut errs, new, old, k, "");
    }
    errs
}
