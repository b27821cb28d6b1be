//! Errors that stop a command (usage, output), and the exit codes every command shares.

use std::io;

/// The exit codes of DESIGN.md, the same for every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Nothing needs action and every input was read.
    Clean = 0,
    /// Something needs action.
    ActionRequired = 1,
    /// The run was incomplete or wrong: usage error, or an input failed.
    Incomplete = 2,
}

impl ExitCode {
    /// An incomplete run outranks findings: it must never look clean or merely "found things".
    pub fn of(incomplete: bool, action_required: bool) -> Self {
        match (incomplete, action_required) {
            (true, _) => ExitCode::Incomplete,
            (false, true) => ExitCode::ActionRequired,
            (false, false) => ExitCode::Clean,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
    /// The rotation plan cannot be read, locked or written; it is left as it was.
    #[error("{0}")]
    State(String),
    /// A step of the walk was refused (the plan is unchanged); the message says why.
    #[error("{0}")]
    Refused(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Incomplete
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn incomplete_beats_findings() {
        assert_eq!(ExitCode::of(false, false) as i32, 0);
        assert_eq!(ExitCode::of(false, true) as i32, 1);
        assert_eq!(ExitCode::of(true, false) as i32, 2);
        assert_eq!(ExitCode::of(true, true) as i32, 2);
    }
}
