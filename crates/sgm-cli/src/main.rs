//! The `sgm` binary: a thin shell over [`sgm_cli::run`], after the process-wide CPU settings of
//! [`sgm_cli::process::tune`] (glibc malloc thresholds, candle's element-wise pool off).

fn main() -> std::process::ExitCode {
    sgm_cli::process::tune();
    sgm_cli::main_with_args(std::env::args_os())
}
