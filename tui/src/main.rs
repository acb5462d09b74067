//! `ringside`: the terminal stepping debugger and command line.

fn main() -> anyhow::Result<()> {
    println!("ringside");
    Ok(())
}
