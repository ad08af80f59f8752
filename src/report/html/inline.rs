//! The report's cells and paragraphs are Markdown inline text (`code`, **bold**) with verdict
//! words in them; on the page they become spans, each verdict coloured by its class.

/// A run of text with one look: `""` (plain), `"code"`, `"strong"` or a verdict's class.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub class: &'static str,
}

/// The verdict words and their classes; longer phrases first ("not supported" before
/// "supported").
const VERDICTS: [(&str, &str); 4] = [
    ("not supported", "v-not"),
    ("supported", "v-sup"),
    ("inconclusive", "v-inc"),
    ("untestable", "v-unt"),
];

/// `text` split into spans: `` `code` ``, `**strong**`, verdict words; the rest plain.
pub fn spans(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((span, after)) = marked(rest).or_else(|| verdict(rest, &plain)) {
            if !plain.is_empty() {
                out.push(Span {
                    text: std::mem::take(&mut plain),
                    class: "",
                });
            }
            out.push(span);
            rest = after;
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !plain.is_empty() {
        out.push(Span {
            text: plain,
            class: "",
        });
    }
    out
}

/// `` `code` `` or `**strong**` at the start of `s`, with what follows it.
fn marked(s: &str) -> Option<(Span, &str)> {
    for (mark, class) in [("**", "strong"), ("`", "code")] {
        if let Some(body) = s.strip_prefix(mark) {
            if let Some(end) = body.find(mark).filter(|&e| e > 0) {
                let text = body[..end].to_owned();
                return Some((Span { text, class }, &body[end + mark.len()..]));
            }
        }
    }
    None
}

/// A verdict phrase at the start of `s` as a whole word (`before` is the text before it).
fn verdict<'a>(s: &'a str, before: &str) -> Option<(Span, &'a str)> {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    if word(before.chars().last()) {
        return None;
    }
    VERDICTS.iter().find_map(|&(phrase, class)| {
        let after = s.strip_prefix(phrase)?;
        (!word(after.chars().next())).then(|| {
            let text = phrase.to_owned();
            (Span { text, class }, after)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(String, &'static str)> {
        spans(text).into_iter().map(|s| (s.text, s.class)).collect()
    }

    #[test]
    fn verdicts_code_and_bold_become_spans() {
        assert_eq!(
            classes("+1.2 [0.1, 2.0] supported (p 0.01; Holm p 0.04: not supported)"),
            vec![
                ("+1.2 [0.1, 2.0] ".into(), ""),
                ("supported".into(), "v-sup"),
                (" (p 0.01; Holm p 0.04: ".into(), ""),
                ("not supported".into(), "v-not"),
                (")".into(), ""),
            ]
        );
        assert_eq!(
            classes("**verdict** with `dqn`: inconclusive, untestable"),
            vec![
                ("verdict".into(), "strong"),
                (" with ".into(), ""),
                ("dqn".into(), "code"),
                (": ".into(), ""),
                ("inconclusive".into(), "v-inc"),
                (", ".into(), ""),
                ("untestable".into(), "v-unt"),
            ]
        );
    }

    #[test]
    fn verdict_words_inside_other_words_and_lone_marks_stay_plain() {
        assert_eq!(
            classes("unsupported supportedness a ` b ** c"),
            vec![("unsupported supportedness a ` b ** c".into(), "")]
        );
    }
}
