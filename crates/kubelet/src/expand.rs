//! `$(VAR)` expansion in command, args and env values, with upstream's rules.
//!
//! `$$` is an escaped `$`; `$(NAME)` becomes the variable's value when it is defined and
//! stays as written when not; any other `$` is kept literally.

/// Expand `input` with `lookup`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.push_str(&input[last..i]);
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' => match input[i + 2..].find(')') {
                    Some(rel) => {
                        let name = &input[i + 2..i + 2 + rel];
                        let end = i + 2 + rel + 1;
                        if name.is_empty() {
                            out.push_str(&input[i..end]);
                        } else {
                            match lookup(name) {
                                Some(v) => out.push_str(&v),
                                None => out.push_str(&input[i..end]),
                            }
                        }
                        i = end;
                    }
                    None => {
                        out.push_str(&input[i..]);
                        i = bytes.len();
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
            last = i;
        } else {
            i += 1;
        }
    }
    if last < input.len() {
        out.push_str(&input[last..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "VAR_A" => Some("A".into()),
            "VAR_B" => Some("B".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_as_upstream() {
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_B)___", "___B___"),
            ("$(VAR_A)-$(VAR_B)", "A-B"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$(EMPTY)x", "x"),
            ("$()", "$()"),
            ("$(VAR_A", "$(VAR_A"),
            ("$VAR_A", "$VAR_A"),
            ("a$", "a$"),
            ("$", "$"),
            ("$$", "$"),
            ("no vars", "no vars"),
            ("$(VAR_A)$", "A$"),
            ("héllo $(VAR_A) wörld", "héllo A wörld"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, vars), want, "input {input:?}");
        }
    }
}
