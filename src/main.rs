//! The `hejnal` command line: the operator's and the webmaster's edge of the program.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    hejnal::allocator::tune();
    let args = cli::Args::parse();
    cli::logging::init(args.log_format);
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            let error: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!("error: {}", hejnal::advice::explain(error));
            ExitCode::from(2)
        }
    }
}
