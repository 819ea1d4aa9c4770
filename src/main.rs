//! `ocidiff-tui IMG0 IMG1`: compare two container images.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use cli::args::{Cli, Command};
use cli::headless::EXIT_ERROR;

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            // Usage errors are errors (2), as every other failure; help and version are not.
            return if e.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    cli::signals::install();
    let result = match &cli.command {
        Some(Command::MakeExample { dir }) => cli::example::run(dir),
        Some(Command::PruneCache {
            unused_for,
            cache_dir,
        }) => cli::prune::run(*unused_for, cache_dir.as_deref()),
        Some(Command::Completions { shell }) => cli::manual::completions(*shell),
        Some(Command::Man) => cli::manual::man(),
        None => {
            let view_given = matches.value_source("view") == Some(ValueSource::CommandLine);
            cli::config::apply(&mut cli.compare, view_given)
                .and_then(|()| cli::config::choose_theme(&cli.compare))
                .and_then(|()| {
                    if cli.compare.format.is_none() && std::io::stdout().is_terminal() {
                        cli::explore::run(&cli.compare)
                    } else {
                        cli::headless::run(&cli.compare)
                    }
                })
        }
    };
    result.unwrap_or_else(|error| {
        eprintln!(
            "ocidiff-tui: {}",
            ocidiff::model::escape_control(&format!("{error:#}"))
        );
        ExitCode::from(EXIT_ERROR)
    })
}
