//! `Authentication-Results` (RFC 8601): what our receiving mail server found when it checked
//! SPF, DKIM and DMARC, read so that a From address is believed only when DMARC vouches for it.
//! Pure: bytes and strings in, a verdict out.
//!
//! Anybody can write an `Authentication-Results` header into the mail they send, so only the
//! header of the configured receiving server counts (`intake.trusted_authserv_id`, compared with
//! the header's authserv-id), and only the **topmost** one with that id: trace headers are
//! prepended hop by hop, so the receiving server's own header sits above anything the sender
//! wrote, and RFC 8601 section 5 has it delete look-alikes carrying its id. Headers with other
//! ids (a forwarder, a spam filter, the sender's own server) are ignored, as are the
//! `ARC-Authentication-Results` and `Authentication-Results-Original` variants. A DMARC pass
//! counts only for the domain of the From address we read (`header.from`).
//!
//! [`dmarc_verdict`] is the one entry point the intake calls; [`Dmarc::passed`] is the boolean
//! (`dmarc_vouched`) that coordinator powers by email require, and [`Dmarc::reason`] is the
//! sentence shown to a coordinator when mail is held for it.

/// One `method=result` of a header, with its properties (`header.from`, `smtp.mailfrom`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower case: `dmarc`, `dkim`, `spf`, `arc`...
    pub method: String,
    /// Lower case: `pass`, `fail`, `none`, `temperror`...
    pub result: String,
    /// `(ptype.property, value)`, keys lower case.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// One parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// None when the header starts with a result (Microsoft 365 writes it so).
    pub authserv_id: Option<String>,
    pub results: Vec<MethodResult>,
}

/// What the trusted server said about DMARC for this mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dmarc {
    /// DMARC passed for the From domain at the trusted server.
    Pass,
    /// The trusted server's DMARC result was not `pass` (`fail`, `none`, `temperror`...).
    NotPass { result: String },
    /// DMARC passed, but for another domain than the From address's.
    OtherDomain { checked: String },
    /// The trusted server's header has no DMARC result.
    NotChecked,
    /// No `Authentication-Results` from the trusted server (none, or only from others).
    NoTrustedHeader,
    /// `intake.trusted_authserv_id` is not set: nothing is trusted.
    NotConfigured,
}

impl Dmarc {
    /// The From address is vouched for (`dmarc_vouched`).
    pub fn passed(&self) -> bool {
        matches!(self, Dmarc::Pass)
    }

    /// A short code for audits and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Dmarc::Pass => "dmarc_pass",
            Dmarc::NotPass { .. } => "dmarc_not_pass",
            Dmarc::OtherDomain { .. } => "dmarc_other_domain",
            Dmarc::NotChecked => "dmarc_not_checked",
            Dmarc::NoTrustedHeader => "dmarc_no_trusted_header",
            Dmarc::NotConfigured => "dmarc_not_configured",
        }
    }

    /// The reason in the coordinators' language (`prompts/<lang>/email.toml`, `dmarc_*`).
    pub fn reason(&self, lang: &str, trusted_authserv_id: Option<&str>) -> String {
        let id = trusted_authserv_id.unwrap_or("-");
        let (key, args): (&str, Vec<(&str, &str)>) = match self {
            Dmarc::Pass => ("dmarc_reason_pass", vec![("server", id)]),
            Dmarc::NotPass { result } => (
                "dmarc_reason_not_pass",
                vec![("server", id), ("result", result.as_str())],
            ),
            Dmarc::OtherDomain { checked } => (
                "dmarc_reason_other_domain",
                vec![("server", id), ("domain", checked.as_str())],
            ),
            Dmarc::NotChecked => ("dmarc_reason_not_checked", vec![("server", id)]),
            Dmarc::NoTrustedHeader => ("dmarc_reason_no_header", vec![("server", id)]),
            Dmarc::NotConfigured => ("dmarc_reason_not_configured", vec![]),
        };
        super::replies::text(lang, key, &args)
    }
}

/// Most header bytes looked at, and most `Authentication-Results` headers read.
const MAX_HEADER_BYTES: usize = 256 * 1024;
const MAX_AR_HEADERS: usize = 64;

/// The values of every `Authentication-Results` header, top first, unfolded.
pub fn header_values(raw: &[u8]) -> Vec<String> {
    let head = &raw[..raw.len().min(MAX_HEADER_BYTES)];
    let text = String::from_utf8_lossy(head);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push(' ');
                c.push_str(line.trim());
            }
            continue;
        }
        if let Some(done) = current.take() {
            out.push(done);
            if out.len() >= MAX_AR_HEADERS {
                return out;
            }
        }
        if let Some((name, value)) = line.split_once(':')
            && name
                .trim_end()
                .eq_ignore_ascii_case("Authentication-Results")
            && !name.ends_with([' ', '\t'])
        {
            current = Some(value.trim().to_owned());
        }
    }
    if let Some(done) = current {
        out.push(done);
    }
    out
}

/// Removes RFC 5322 comments (nested parentheses), keeping quoted strings intact.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if depth == 0 {
                out.push(c);
            }
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// Splits on `;` outside quoted strings.
fn split_semicolons(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].replace("\\\"", "\"")
    } else {
        v.to_owned()
    }
}

/// `key=value` tokens of one result, whitespace separated (values may be quoted).
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // `key = value` written with spaces around `=`.
    let mut joined: Vec<String> = Vec::new();
    for t in out {
        match joined.last_mut() {
            Some(last) if last.ends_with('=') || t.starts_with('=') => last.push_str(&t),
            _ => joined.push(t),
        }
    }
    joined
}

fn method_result(part: &str) -> Option<MethodResult> {
    let toks = tokens(part);
    let first = toks.first()?;
    let (method, result) = first.split_once('=')?;
    let method = method.split('/').next().unwrap_or(method).trim();
    if method.is_empty() || method.contains('.') {
        return None;
    }
    let props = toks[1..]
        .iter()
        .filter_map(|t| {
            let (k, v) = t.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), unquote(v)))
        })
        .collect();
    Some(MethodResult {
        method: method.to_ascii_lowercase(),
        result: unquote(result).to_ascii_lowercase(),
        props,
    })
}

/// Parses one header value. Never fails: what cannot be read is left out.
pub fn parse(value: &str) -> AuthResults {
    let clean = strip_comments(value);
    let mut parts = split_semicolons(&clean).into_iter();
    let first = parts.next().unwrap_or_default();
    let mut results = Vec::new();
    let authserv_id = if first.contains('=') {
        results.extend(method_result(&first));
        None
    } else {
        // `authserv-id [version]`
        first
            .split_whitespace()
            .next()
            .map(|s| unquote(s).to_ascii_lowercase())
            .filter(|s| !s.is_empty())
    };
    results.extend(parts.filter_map(|p| method_result(&p)));
    AuthResults {
        authserv_id,
        results,
    }
}

/// The verdict on a raw message whose From address has `from_domain`, trusting only headers
/// whose authserv-id is `trusted_authserv_id`.
pub fn dmarc_verdict(
    raw: &[u8],
    from_domain: Option<&str>,
    trusted_authserv_id: Option<&str>,
) -> Dmarc {
    let Some(trusted) = trusted_authserv_id.map(str::trim).filter(|t| !t.is_empty()) else {
        return Dmarc::NotConfigured;
    };
    let Some(header) = header_values(raw).iter().map(|v| parse(v)).find(|h| {
        h.authserv_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(trusted))
    }) else {
        return Dmarc::NoTrustedHeader;
    };
    let dmarc: Vec<&MethodResult> = header
        .results
        .iter()
        .filter(|r| r.method == "dmarc")
        .collect();
    if dmarc.is_empty() {
        return Dmarc::NotChecked;
    }
    if let Some(bad) = dmarc.iter().find(|r| r.result != "pass") {
        return Dmarc::NotPass {
            result: bad.result.chars().take(32).collect(),
        };
    }
    let from = from_domain.map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase());
    for r in &dmarc {
        if let Some(checked) = r.prop("header.from") {
            let checked = checked
                .rsplit('@')
                .next()
                .unwrap_or(checked)
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if from.as_deref() != Some(checked.as_str()) {
                return Dmarc::OtherDomain {
                    checked: checked.chars().take(255).collect(),
                };
            }
        }
    }
    match from {
        Some(_) => Dmarc::Pass,
        None => Dmarc::OtherDomain {
            checked: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUSTED: Option<&str> = Some("mx.coop.example");

    fn mail(headers: &[&str]) -> Vec<u8> {
        let mut s = String::new();
        for h in headers {
            s.push_str(h);
            s.push_str("\r\n");
        }
        s.push_str("From: Anna <anna@comune.dalmine.bg.it>\r\nSubject: richiesta\r\n\r\nAuthentication-Results: mx.coop.example; dmarc=pass\r\n");
        s.into_bytes()
    }

    #[test]
    fn parses_real_headers() {
        let g = parse(
            "mx.google.com; dkim=pass header.i=@comune.example.it header.s=s1; spf=pass (google.com: domain of a@b designates 1.2.3.4 as permitted sender) smtp.mailfrom=a@comune.example.it; dmarc=pass (p=QUARANTINE sp=NONE dis=NONE) header.from=comune.example.it",
        );
        assert_eq!(g.authserv_id.as_deref(), Some("mx.google.com"));
        let methods: Vec<_> = g.results.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["dkim", "spf", "dmarc"]);
        assert_eq!(g.results[2].prop("header.from"), Some("comune.example.it"));
        assert_eq!(
            g.results[1].prop("smtp.mailfrom"),
            Some("a@comune.example.it")
        );
        // Microsoft 365 writes no authserv-id.
        let m = parse(
            "spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=contoso.com; dkim=pass (signature was verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100",
        );
        assert_eq!(m.authserv_id, None);
        assert_eq!(m.results.len(), 4);
        assert_eq!(m.results[2].result, "pass");
        // a version, comments with nested parentheses and ; inside, quoted values, "none"
        let v = parse(
            "mx.coop.example 1 (a (nested; comment) here); dmarc = fail (p=reject) header.from=\"x.example\"",
        );
        assert_eq!(v.authserv_id.as_deref(), Some("mx.coop.example"));
        assert_eq!(v.results[0].result, "fail");
        assert_eq!(v.results[0].prop("header.from"), Some("x.example"));
        assert!(parse("mx.coop.example; none").results.is_empty());
        // garbage never panics
        for junk in ["", ";;;", "(((", "\"", "=;=", "a=b=c; .=; ==", "\\(\\\""] {
            let _ = parse(junk);
        }
    }

    #[test]
    fn genuine_pass_from_the_trusted_server() {
        let raw = mail(&[
            "Authentication-Results: mx.coop.example;\r\n\tspf=pass smtp.mailfrom=comune.dalmine.bg.it;\r\n dmarc=pass header.from=comune.dalmine.bg.it",
        ]);
        assert_eq!(
            dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED),
            Dmarc::Pass
        );
        // The id is compared without regard to case; the From domain too.
        assert!(
            dmarc_verdict(&raw, Some("Comune.Dalmine.BG.it"), Some("MX.coop.example")).passed()
        );
    }

    #[test]
    fn a_forged_pass_below_the_trusted_servers_fail_counts_for_nothing() {
        // The sender wrote a pass with our server's id; our server prepended its real result.
        let raw = mail(&[
            "Authentication-Results: mx.coop.example; spf=fail smtp.mailfrom=evil.example; dmarc=fail (p=none) header.from=comune.dalmine.bg.it",
            "Received: from evil.example by mx.coop.example",
            "Authentication-Results: mx.coop.example; dmarc=pass header.from=comune.dalmine.bg.it",
        ]);
        assert_eq!(
            dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED),
            Dmarc::NotPass {
                result: "fail".into()
            }
        );
    }

    #[test]
    fn a_pass_from_a_server_that_is_not_the_trusted_one_is_ignored() {
        let raw = mail(&[
            "Authentication-Results: relay.evil.example; dmarc=pass header.from=comune.dalmine.bg.it",
            "ARC-Authentication-Results: i=1; mx.coop.example; dmarc=pass header.from=comune.dalmine.bg.it",
            "Authentication-Results-Original: mx.coop.example; dmarc=pass header.from=comune.dalmine.bg.it",
        ]);
        let v = dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED);
        assert_eq!(v, Dmarc::NoTrustedHeader);
        assert!(!v.passed());
        // An A-R line in the body is not a header.
        let body_only = mail(&[]);
        assert_eq!(
            dmarc_verdict(&body_only, Some("comune.dalmine.bg.it"), TRUSTED),
            Dmarc::NoTrustedHeader
        );
        // Another server's header above ours (an internal filter) does not hide ours.
        let raw = mail(&[
            "Authentication-Results: filter.coop.example; dmarc=fail",
            "Authentication-Results: mx.coop.example; dmarc=pass header.from=comune.dalmine.bg.it",
        ]);
        assert!(dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED).passed());
    }

    #[test]
    fn a_pass_for_another_domain_or_no_dmarc_is_not_a_pass() {
        let raw = mail(&[
            "Authentication-Results: mx.coop.example; dkim=pass header.d=evil.example; dmarc=pass header.from=evil.example",
        ]);
        assert_eq!(
            dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED),
            Dmarc::OtherDomain {
                checked: "evil.example".into()
            }
        );
        let raw = mail(&["Authentication-Results: mx.coop.example; spf=pass smtp.mailfrom=x"]);
        assert_eq!(
            dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), TRUSTED),
            Dmarc::NotChecked
        );
        assert_eq!(
            dmarc_verdict(&raw, Some("comune.dalmine.bg.it"), None),
            Dmarc::NotConfigured
        );
    }

    proptest::proptest! {
        #[test]
        fn any_header_text_parses_without_panicking(s in "\\PC*", raw in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse(&s);
            let mut m = b"Authentication-Results: mx.coop.example; ".to_vec();
            m.extend_from_slice(s.as_bytes());
            m.extend_from_slice(b"\r\n\r\n");
            let _ = dmarc_verdict(&m, Some("x.example"), TRUSTED);
            let v = dmarc_verdict(&raw, Some("x.example"), TRUSTED);
            // Random bytes never make a pass.
            proptest::prop_assert!(!v.passed() || raw.windows(10).any(|w| w == b"dmarc=pass"));
        }
    }

    #[test]
    fn reasons_are_sentences_in_both_languages() {
        for lang in ["it", "en"] {
            for v in [
                Dmarc::NotPass {
                    result: "fail".into(),
                },
                Dmarc::OtherDomain {
                    checked: "evil.example".into(),
                },
                Dmarc::NotChecked,
                Dmarc::NoTrustedHeader,
                Dmarc::NotConfigured,
            ] {
                let r = v.reason(lang, TRUSTED);
                assert!(r.len() > 20 && !r.contains('{'), "{lang} {v:?}: {r}");
            }
        }
        assert!(
            Dmarc::NotPass {
                result: "fail".into()
            }
            .reason("it", TRUSTED)
            .contains("mx.coop.example")
        );
    }
}
