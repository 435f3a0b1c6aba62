//! Subcommands of the `argva` binary: argument parsing, file output, progress display.

pub mod bench;
pub mod data;
pub mod embed;
pub mod output;
pub mod plot;
pub mod train;

pub use argva::train::Prepared;

/// An error and its causes in one line, `a: b: c`, leaving out a cause whose text is already
/// part of the line (errors that print their source would otherwise show it twice).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory");
        let data = argva::data::DataError::Io {
            path: "/tmp".into(),
            source: io,
        };
        let e = anyhow::Error::new(data).context("loading `/tmp`");
        let text = super::error_text(&e);
        assert_eq!(text, "loading `/tmp`: cannot read /tmp: Is a directory");
        assert_eq!(text.matches("Is a directory").count(), 1);
    }
}
