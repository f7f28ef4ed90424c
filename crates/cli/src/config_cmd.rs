//! `kbridge config check [FILE]` and `kbridge config reference`: the configuration model of
//! kb-config, from the command line.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Read a configuration file and list every problem, each with its key (offline: no
    /// service is contacted; `kbridge check` tests the connections).
    Check {
        /// The file (default: kbridge.toml in the current folder).
        file: Option<PathBuf>,
    },
    /// Print the reference of every key of kbridge.toml (Markdown, as in docs/config.md).
    Reference {
        /// Print the JSON schema instead.
        #[arg(long)]
        json_schema: bool,
    },
}

pub fn run(args: ConfigArgs) -> Result<bool> {
    match args.command {
        ConfigCommand::Reference { json_schema } => {
            if json_schema {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&kb_config::reference::schema())?
                );
            } else {
                print!("{}", kb_config::reference::markdown());
            }
            Ok(true)
        }
        ConfigCommand::Check { file } => {
            let path = file.unwrap_or_else(|| PathBuf::from(kb_config::DEFAULT_FILE));
            let (model, _) = kb_config::load(Some(&path))?;
            let problems = kb_config::check(&model);
            if problems.is_empty() {
                println!(
                    "{}: OK ({} connection(s), {} job(s), {} default section(s))",
                    path.display(),
                    model.connections.len(),
                    model.jobs.len(),
                    [
                        model.store.is_some(),
                        model.confluence.is_some(),
                        model.notion.is_some()
                    ]
                    .iter()
                    .filter(|x| **x)
                    .count()
                );
                return Ok(true);
            }
            eprintln!("{}: {} problem(s):", path.display(), problems.len());
            for p in &problems {
                eprintln!("  {p}");
            }
            Ok(false)
        }
    }
}
