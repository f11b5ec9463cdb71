//! Puts rlock's Lua scripts together (the shared helpers first: holders.lua, history.lua, and
//! queue.lua for those that need it) and computes each one's SHA1 at
//! build time, so that a run, which calls EVALSHA once or twice, does not hash 10 to 15 KB of
//! script text on every start.

use std::fmt::Write as _;
use std::path::Path;

/// Each script: its name in Rust, its file, and whether it needs the wait queue's helpers.
const SCRIPTS: [(&str, &str, bool); 8] = [
    ("ACQUIRE", "acquire.lua", true),
    ("REFRESH", "refresh.lua", false),
    ("RELEASE", "release.lua", true),
    ("BREAK", "break.lua", true),
    ("LEAVE", "leave.lua", true),
    ("INSPECT", "inspect.lua", true),
    ("FENCE", "fence.lua", false),
    ("GIVE_BACK", "giveback.lua", true),
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let read = |name: &str| {
        let path = Path::new("src/lock/scripts").join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    };
    let holders = read("holders.lua");
    let history = read("history.lua");
    let queue = read("queue.lua");
    let mut generated = String::new();
    for (name, file, with_queue) in SCRIPTS {
        let mut code = format!("{holders}\n{history}\n");
        if with_queue {
            code.push_str(&queue);
            code.push('\n');
        }
        code.push_str(&read(file));
        let sha1 = sha1_smol::Sha1::from(code.as_bytes()).digest().to_string();
        let short = file.trim_end_matches(".lua");
        std::fs::write(Path::new(&out).join(file), &code).expect("cannot write to OUT_DIR");
        writeln!(
            generated,
            "pub static {name}: LuaScript = LuaScript {{ name: \"{short}\", code: include_str!(concat!(env!(\"OUT_DIR\"), \"/{file}\")), sha1: \"{sha1}\" }};"
        )
        .expect("writing to a String");
    }
    std::fs::write(Path::new(&out).join("scripts.rs"), generated).expect("cannot write to OUT_DIR");
    link_unwinder_statically();
}

/// On Linux with glibc, links GCC's unwinder (libgcc_eh.a) into rlock, as `gcc -static-libgcc`
/// does, instead of loading libgcc_s.so.1 at every start. Loading it (and running its
/// constructor, which queries the CPU) took about 0.13 ms of the 2.6 ms an uncontended
/// `rlock run KEY -- true` takes, where flock takes 1.6. libc stays a shared library: a static
/// glibc would need --target for every build, as proc-macros cannot link statically.
///
/// The archive goes in whole, ahead of the standard library, so that nothing is left for
/// libgcc_s.so.1 to provide and the linker (--as-needed) drops it. When the C compiler cannot
/// name the archive (another libc, a cross build), rlock links as usual.
fn link_unwinder_statically() {
    println!("cargo::rerun-if-env-changed=CC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(output) =
        std::process::Command::new(compiler).arg("-print-file-name=libgcc_eh.a").output()
    else {
        return;
    };
    let archive = std::path::PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // Not found, the compiler prints the bare name back.
    let (true, Some(dir)) = (archive.is_absolute() && archive.is_file(), archive.parent()) else {
        return;
    };
    println!("cargo::rustc-link-search=native={}", dir.display());
    println!("cargo::rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
}
