//! The `argva` command line: the library's [`argva::cli`] on the process's arguments.

fn main() -> std::process::ExitCode {
    argva::cli::main(std::env::args_os().collect())
}
