//! `doppel completions SHELL` and `doppel man [COMMAND]`: generated from the clap definitions
//! in [`super`], so they list exactly the commands and flags the parser accepts.

use clap::CommandFactory;

use crate::error::{Error, Result};

use super::output::write_stdout;
use super::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "doppel", &mut script);
    write_stdout(&script, "the completion script")
}

pub fn man(args: ManArgs) -> Result<()> {
    let page = render_man(&args.command)?;
    write_stdout(&page, "the manual page")
}

/// The roff page of doppel, or of the command at `path` (`["branch", "create"]`), titled
/// `doppel-branch-create`.
pub fn render_man(path: &[String]) -> Result<Vec<u8>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut at = &cmd;
    for (depth, name) in path.iter().enumerate() {
        at = at.find_subcommand(name).ok_or_else(|| {
            let parent = std::iter::once("doppel").chain(path[..depth].iter().map(String::as_str)).collect::<Vec<_>>();
            let valid: Vec<&str> = at.get_subcommands().map(|s| s.get_name()).collect();
            Error::Usage(format!(
                "man {}: `{}` has no command `{name}`; choose one of: {}",
                path.join(" "),
                parent.join(" "),
                if valid.is_empty() { "(none)".to_string() } else { valid.join(", ") }
            ))
        })?;
    }
    let man = clap_mangen::Man::new(at.clone());
    let mut page = Vec::new();
    let sections = |w: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(w)?;
        man.render_name_section(w)?;
        man.render_synopsis_section(w)?;
        man.render_description_section(w)?;
        if at.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(w)?;
        }
        if at.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(w)?;
        }
        // The help's sections (locations, the key, exit codes) are laid out in columns: kept
        // as they are (no fill), not reflowed as clap_mangen's EXTRA section would.
        if let Some(after) = at.get_after_long_help().or(at.get_after_help()) {
            w.extend_from_slice(b".SH NOTES\n.nf\n");
            for line in after.to_string().lines() {
                w.extend_from_slice(roff_line(line).as_bytes());
                w.push(b'\n');
            }
            w.extend_from_slice(b".fi\n");
        }
        if at.get_version().is_some() {
            man.render_version_section(w)?;
        }
        Ok(())
    };
    sections(&mut page).map_err(|e| Error::Usage(format!("cannot render the manual page ({e})")))?;
    Ok(ascii_roff(&String::from_utf8_lossy(&page)).into_bytes())
}

/// A line of text as roff reads it literally: backslashes escaped, a leading `.` or `'` (a
/// request) made text, hyphens as minus signs (so that flags copy and paste as typed).
fn roff_line(line: &str) -> String {
    let text = line.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') { format!("\\&{text}") } else { text }
}

/// The page in ASCII: troff reads bytes, and not every `man` passes a page through `preconv`
/// first. The help texts' ellipsis, arrow and dashes become roff's named glyphs, which every
/// output device has (`...` and `->` on a plain terminal); any other character a `\[uXXXX]`
/// escape.
fn ascii_roff(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        match c {
            _ if c.is_ascii() => out.push(c),
            '\u{2026}' => out.push_str("\\&..."),
            '\u{2192}' => out.push_str("\\[->]"),
            '\u{2014}' => out.push_str("\\[em]"),
            '\u{2013}' => out.push_str("\\[en]"),
            _ => out.push_str(&format!("\\[u{:04X}]", c as u32)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_titled_after_it_and_unknown_ones_are_named() {
        let top = String::from_utf8(render_man(&[]).unwrap()).unwrap();
        assert!(top.contains(".TH doppel 1"), "{top}");
        for sub in Cli::command().get_subcommands() {
            assert!(top.contains(sub.get_name()), "{}", sub.get_name());
            let page = String::from_utf8(render_man(&[sub.get_name().to_string()]).unwrap()).unwrap();
            assert!(page.contains(&format!(".TH doppel-{} 1", sub.get_name())), "{page}");
        }
        let branch = String::from_utf8(render_man(&["branch".into(), "create".into()]).unwrap()).unwrap();
        assert!(branch.contains(".TH doppel-branch-create 1"), "{branch}");
        assert!(top.is_ascii() && top.contains("\\&..."), "non-ASCII as escapes");
        assert_eq!(roff_line(".x \\ --to -"), "\\&.x \\e \\-\\-to \\-");
        assert!(top.contains(".SH NOTES\n.nf\nLocations (\\-\\-from / \\-\\-to):\n"), "{top}");
        assert_eq!(ascii_roff("a → b — c – d é"), "a \\[->] b \\[em] c \\[en] d \\[u00E9]");
        let err = render_man(&["rn".into()]).unwrap_err().to_string();
        assert!(err.contains("`doppel` has no command `rn`") && err.contains("run, check"), "{err}");
    }
}
