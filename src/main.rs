//! The `connecting` command: parses arguments and hands over to the library's CLI layer.
//! Errors end here as one clear line on stderr and a non-zero exit code.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    connecting::cli::main().await
}
