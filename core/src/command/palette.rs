//! The command palette (`:`): a line of text to a [`Command`].

use super::{Command, Condition, Dir, ParseError};

/// Palette commands: usage and what they do (for the help and docs).
pub const PALETTE: &[(&str, &str)] = &[
    (
        "goto N",
        "go to micro step N (also just `N`); in a trace, event N",
    ),
    (
        "line N",
        "in a trace, go to the last event on or before line N (also `goto line N`)",
    ),
    ("break COND", "add a breakpoint (see `b`)"),
    ("delete N", "delete breakpoint N"),
    ("clear", "delete all breakpoints"),
    ("continue", "continue to the next breakpoint hit"),
    ("reverse-continue", "reverse-continue to the previous hit"),
    ("mark", "set or remove a mark at the cursor"),
    ("search TEXT", "search fields, ops and outcomes"),
    (
        "buffer TOKEN|ID",
        "in a joined trace, follow the buffer with this token (0x…) or head/ID across both sides",
    ),
    (
        "id N",
        "in a joined trace, follow the buffer with head or buffer ID N",
    ),
    (
        "compare [NAME|FILE]",
        "compare with the other layout, or a scenario; again to stop",
    ),
    (
        "save FILE",
        "save scenario, step, marks, breakpoints and layout as RON",
    ),
    ("load FILE", "load a saved session"),
    (
        "link",
        "a link to this view: what is open, step, marks, panes (the browser copies it)",
    ),
    ("help", "show the keys"),
    ("quit", "quit"),
];

/// Parses one palette line.
pub fn parse_palette(line: &str) -> Result<Command, ParseError> {
    let text = line.trim_start();
    let offset = line.len() - text.len();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let arg = rest.trim();
    let arg_col = offset + word.chars().count() + 1 + (rest.len() - rest.trim_start().len()) + 1;
    let need_arg = |what: &str| {
        if arg.is_empty() {
            Err(ParseError::new(
                arg_col,
                format!("`{word}` needs {what}"),
                format!("write `{word} {}`", what.to_uppercase()),
            ))
        } else {
            Ok(arg.to_string())
        }
    };
    let step = |s: &str, col: usize| {
        s.parse::<u64>().map_err(|_| {
            ParseError::new(
                col,
                format!("`{s}` is not a step number"),
                "write a decimal step number",
            )
        })
    };
    Ok(match word {
        "goto" | "g" => {
            let arg = need_arg("step")?;
            match arg.strip_prefix("line") {
                Some(n) if n.starts_with(char::is_whitespace) => {
                    let n = n.trim_start();
                    Command::GotoLine(step(n, arg_col + arg.len() - n.len())?)
                }
                _ => Command::Goto(step(&arg, arg_col)?),
            }
        }
        "line" | "l" => Command::GotoLine(step(&need_arg("line number")?, arg_col)?),
        w if w.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            Command::Goto(step(w, offset + 1)?)
        }
        "break" | "b" => {
            let cond = need_arg("condition")?;
            Command::Break(Condition::parse(&cond).map_err(|e| ParseError {
                column: e.column + arg_col - 1,
                ..e
            })?)
        }
        "delete" | "d" => {
            let n = need_arg("breakpoint number")?;
            Command::DeleteBreak(n.parse().map_err(|_| {
                ParseError::new(
                    arg_col,
                    format!("`{n}` is not a breakpoint number"),
                    "breakpoints are numbered from 1 as listed",
                )
            })?)
        }
        "clear" => Command::ClearBreaks,
        "continue" | "c" => Command::Continue(Dir::Forward),
        "reverse-continue" | "rc" => Command::Continue(Dir::Back),
        "mark" | "m" => Command::Mark,
        "search" | "s" => Command::Search(need_arg("text")?),
        "buffer" | "id" => {
            let arg = need_arg(if word == "id" { "id" } else { "token" })?;
            Command::FindBuffer(
                super::breakpoint::parse_buffer_ref(word, &arg).map_err(|e| ParseError {
                    column: e.column + arg_col - 1,
                    ..e
                })?,
            )
        }
        "compare" => Command::Compare((!arg.is_empty()).then(|| arg.to_string())),
        "save" | "w" => Command::Save(need_arg("file")?),
        "load" | "e" => Command::Load(need_arg("file")?),
        "link" => Command::CopyLink,
        "help" => Command::Help,
        "quit" | "q" => Command::Quit,
        "" => {
            return Err(ParseError::new(
                offset + 1,
                "empty command",
                "try `goto 10`, `break used.idx == 1`, `help`",
            ));
        }
        w => {
            let names: Vec<&str> = PALETTE
                .iter()
                .map(|p| p.0.split(' ').next().unwrap_or(""))
                .collect();
            return Err(ParseError::new(
                offset + 1,
                format!("unknown command `{w}`"),
                format!("commands: {}", names.join(", ")),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_lines_become_commands() {
        assert_eq!(parse_palette("goto 12"), Ok(Command::Goto(12)));
        assert_eq!(parse_palette(" 40"), Ok(Command::Goto(40)));
        assert_eq!(parse_palette("line 120"), Ok(Command::GotoLine(120)));
        assert_eq!(parse_palette("goto line 7"), Ok(Command::GotoLine(7)));
        assert_eq!(parse_palette("goto line x").unwrap_err().column, 11);
        assert_eq!(parse_palette("d 2"), Ok(Command::DeleteBreak(2)));
        assert_eq!(parse_palette("compare"), Ok(Command::Compare(None)));
        assert_eq!(
            parse_palette("save s.ron"),
            Ok(Command::Save("s.ron".into()))
        );
        assert!(matches!(
            parse_palette("break used.idx == 1"),
            Ok(Command::Break(_))
        ));
        use crate::command::BufferRef;
        assert_eq!(
            parse_palette("buffer 0xffff8d8303c42210"),
            Ok(Command::FindBuffer(BufferRef::Token(0xffff_8d83_03c4_2210)))
        );
        assert_eq!(
            parse_palette("id 5"),
            Ok(Command::FindBuffer(BufferRef::Id(5)))
        );
        assert_eq!(
            parse_palette("buffer 7"),
            Ok(Command::FindBuffer(BufferRef::Id(7)))
        );
        assert_eq!(parse_palette("id zz").unwrap_err().column, 4);
    }

    #[test]
    fn palette_errors_point_into_the_line() {
        let e = parse_palette("break used.idz == 1").unwrap_err();
        assert_eq!(e.column, 7);
        let e = parse_palette("goto x").unwrap_err();
        assert_eq!(e.column, 6);
        let e = parse_palette("frobnicate").unwrap_err();
        assert!(e.hint.contains("goto"), "{e}");
        assert_eq!(
            parse_palette("save").unwrap_err().message,
            "`save` needs file"
        );
    }
}
