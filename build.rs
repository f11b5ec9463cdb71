//! Puts rlock's Lua scripts together (the shared helpers first) and computes each one's SHA1 at
//! build time, so that a run, which calls EVALSHA once or twice, does not hash 10 to 15 KB of
//! script text on every start.

use std::fmt::Write as _;
use std::path::Path;

/// Each script: its name in Rust, its file, and whether it needs the wait queue's helpers.
const SCRIPTS: [(&str, &str, bool); 7] = [
    ("ACQUIRE", "acquire.lua", true),
    ("REFRESH", "refresh.lua", false),
    ("RELEASE", "release.lua", true),
    ("BREAK", "break.lua", true),
    ("LEAVE", "leave.lua", true),
    ("INSPECT", "inspect.lua", true),
    ("FENCE", "fence.lua", false),
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let read = |name: &str| {
        let path = Path::new("src/scripts").join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    };
    let holders = read("holders.lua");
    let queue = read("queue.lua");
    let mut generated = String::new();
    for (name, file, with_queue) in SCRIPTS {
        let mut code = format!("{holders}\n");
        if with_queue {
            code.push_str(&queue);
            code.push('\n');
        }
        code.push_str(&read(file));
        let sha1 = sha1_smol::Sha1::from(code.as_bytes()).digest().to_string();
        std::fs::write(Path::new(&out).join(file), &code).expect("cannot write to OUT_DIR");
        writeln!(
            generated,
            "pub static {name}: LuaScript = LuaScript {{ code: include_str!(concat!(env!(\"OUT_DIR\"), \"/{file}\")), sha1: \"{sha1}\" }};"
        )
        .expect("writing to a String");
    }
    std::fs::write(Path::new(&out).join("scripts.rs"), generated).expect("cannot write to OUT_DIR");
}
