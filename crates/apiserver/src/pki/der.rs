//! Minimal DER editing: gives an rcgen-made certificate a subject with several O (group)
//! attributes, which rcgen's `DistinguishedName` cannot hold, and signs it again.

use rcgen::SigningKey;

/// DER tag of a SEQUENCE.
const SEQUENCE: u8 = 0x30;
/// DER tag of a SET.
const SET: u8 = 0x31;
/// DER tag of an OBJECT IDENTIFIER.
const OID: u8 = 0x06;
/// DER tag of a UTF8String.
const UTF8_STRING: u8 = 0x0c;
/// DER tag of a BIT STRING.
const BIT_STRING: u8 = 0x03;
/// id-at-commonName (2.5.4.3), encoded.
const OID_COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];
/// id-at-organizationName (2.5.4.10), encoded.
const OID_ORGANIZATION: [u8; 3] = [0x55, 0x04, 0x0a];

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One tag-length-value element.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// `(header length, total length)` of the element at the start of `input`.
fn read_tlv(input: &[u8]) -> Option<(usize, usize)> {
    let first = *input.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= input.len()).then_some((header, total))
}

/// One single-valued relative distinguished name.
fn rdn(oid: &[u8], value: &str) -> Vec<u8> {
    let attr = [tlv(OID, oid), tlv(UTF8_STRING, value.as_bytes())].concat();
    tlv(SET, &tlv(SEQUENCE, &attr))
}

/// The DER subject `O=<org>...,CN=<cn>` (UTF8String values, one RDN each).
pub fn encode_subject(cn: &str, orgs: &[&str]) -> Vec<u8> {
    let mut rdns = Vec::new();
    for org in orgs {
        rdns.extend(rdn(&OID_ORGANIZATION, org));
    }
    rdns.extend(rdn(&OID_COMMON_NAME, cn));
    tlv(SEQUENCE, &rdns)
}

/// Returns `cert_der` with its subject replaced by `subject` (a DER Name), signed by `signer`
/// (which must be the key that issued `cert_der`, so the signature algorithm stays right).
pub fn replace_subject(
    cert_der: &[u8],
    subject: &[u8],
    signer: &impl SigningKey,
) -> Result<Vec<u8>, String> {
    let bad = || "malformed certificate".to_string();
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_der).map_err(|e| format!("parse: {e}"))?;
    let tbs = cert.tbs_certificate.as_ref();
    let old_subject = cert.tbs_certificate.subject.as_raw();
    // Both slices borrow from `cert_der`; the subject's position inside the TBS is exact.
    let offset = (old_subject.as_ptr() as usize)
        .checked_sub(tbs.as_ptr() as usize)
        .filter(|o| o + old_subject.len() <= tbs.len())
        .ok_or_else(bad)?;
    let (tbs_header, tbs_total) = read_tlv(tbs).ok_or_else(bad)?;
    if offset < tbs_header || tbs_total != tbs.len() {
        return Err(bad());
    }
    let mut content = Vec::with_capacity(tbs.len() + subject.len());
    content.extend_from_slice(&tbs[tbs_header..offset]);
    content.extend_from_slice(subject);
    content.extend_from_slice(&tbs[offset + old_subject.len()..]);
    let new_tbs = tlv(SEQUENCE, &content);

    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let (outer_header, _) = read_tlv(cert_der).ok_or_else(bad)?;
    let rest = cert_der.get(outer_header + tbs.len()..).ok_or_else(bad)?;
    let (_, alg_total) = read_tlv(rest).ok_or_else(bad)?;
    let algorithm = &rest[..alg_total];

    let signature = signer.sign(&new_tbs).map_err(|e| format!("sign: {e}"))?;
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(&signature);
    Ok(tlv(
        SEQUENCE,
        &[new_tbs, algorithm.to_vec(), tlv(BIT_STRING, &bits)].concat(),
    ))
}
