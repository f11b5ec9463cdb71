//! The recipes of the README and docs/recipes.md, each run as written against a real
//! redis-server. Only what cannot exist on a test machine is replaced: the Redis URL, the jobs'
//! own scripts (small stubs in a temporary folder), /usr/local/bin (a temporary folder holding a
//! link to the rlock under test), /etc and /var files (temporary ones).

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::fixture::RedisServer;
use crate::harness::{Finished, eventually, rlock};

/// The pages that hold recipes.
const PAGES: [&str; 2] = [include_str!("../../README.md"), include_str!("../../docs/recipes.md")];

/// The code block right below the line `<!-- recipe: NAME -->` in the README or docs/recipes.md.
fn recipe(name: &str) -> String {
    let marker = format!("<!-- recipe: {name} -->");
    let has_it = |page: &&&str| page.lines().any(|line| line.trim() == marker);
    let found: usize =
        PAGES.iter().map(|page| page.lines().filter(|line| line.trim() == marker).count()).sum();
    assert_eq!(found, 1, "the pages should have one `{marker}` line, directly above its recipe");
    let page = PAGES.iter().find(has_it).copied().unwrap_or_default();
    let mut lines = page.lines().skip_while(|line| line.trim() != marker).skip(1);
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "`{marker}` is not directly above a code block: {fence:?}");
    let mut block = String::new();
    for line in lines {
        if line.starts_with("```") {
            return block;
        }
        block.push_str(line);
        block.push('\n');
    }
    panic!("the code block below `{marker}` is never closed");
}

/// `text` with `from` replaced by `to`; fails if `from` is not there (the recipe changed).
fn substitute(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the recipe no longer has {from:?}: {text}");
    text.replace(from, to)
}

/// An executable shell script at `path`.
fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stub for one of the recipe's own scripts.
fn stub(path: &Path, body: &str) {
    write_script(path, &format!("#!/bin/sh\n{body}\n"));
}

/// A shell loop that waits (at most 20 s) until `file` exists (in double quotes: it may name a
/// variable).
fn wait_for_file(file: &Path) -> String {
    format!(
        "i=0; while [ ! -e \"{}\" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done",
        file.display()
    )
}

/// The stand-in for /usr/local/bin: a folder in `dir` holding a link to the rlock under test.
fn install_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("usr-local-bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rlock"), bin.join("rlock")).unwrap();
    bin
}

fn path_with(bin: &Path) -> String {
    format!("{}:/usr/bin:/bin", bin.display())
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// Takes `key` for a minute as another holder would; returns its token.
fn hold(server: &RedisServer, key: &str) -> String {
    let out = rlock(server).args(["acquire", "-t", "1m", key]).output();
    out.expect_code(0);
    out.stdout.trim().to_owned()
}

fn release(server: &RedisServer, key: &str, token: &str) {
    rlock(server).args(["release", key, token]).output().expect_code(0);
}

fn queued(server: &RedisServer, key: &str) -> i64 {
    server.cmd(&["ZCARD", &format!("{{rlock:{key}}}}}queue")])
}

fn is_held(server: &RedisServer, key: &str) -> bool {
    server.cmd::<i64>(&["EXISTS", &format!("rlock:{key}")]) == 1
}

/// A recipe's command running in the background, in a process group of its own, with stdout and
/// stderr in files: not a terminal, as under cron, systemd or a CI runner.
struct Job {
    child: Child,
    started: Instant,
    stdout: File,
    stderr: File,
}

fn spawn(mut command: Command) -> Job {
    let stdout = tempfile::tempfile().unwrap();
    let stderr = tempfile::tempfile().unwrap();
    let child = command
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    Job { child, started: Instant::now(), stdout, stderr }
}

/// Runs `command` to the end, at most 20 s.
fn run(command: Command) -> Finished {
    spawn(command).finish(Duration::from_secs(20))
}

fn read_file(file: &File) -> String {
    use std::os::unix::fs::FileExt;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = file.read_at(&mut buffer, seen.len() as u64) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

impl Job {
    fn stderr_so_far(&self) -> String {
        read_file(&self.stderr)
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Waits for it to exit, at most `limit` (then kills its group and fails the test).
    fn finish(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = killpg(self.pid(), Signal::SIGKILL);
                let _ = self.child.wait();
                panic!("not finished within {limit:?}; stderr: {}", self.stderr_so_far());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Finished {
            status,
            elapsed: self.started.elapsed(),
            stdout: read_file(&self.stdout),
            stderr: read_file(&self.stderr),
        }
    }
}

impl Drop for Job {
    /// A test that fails half-way leaves nothing of the job behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = killpg(self.pid(), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// `line` without its first `n` whitespace-separated fields.
fn after_fields(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

#[test]
fn cron_runs_the_job_skips_it_while_held_and_needs_its_path_line() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = install_dir(dir.path());
    let ran = dir.path().join("backup-ran");
    stub(&bin.join("backup.sh"), &format!("echo ran >> '{}'", ran.display()));
    let crontab = substitute(&recipe("cron"), "/usr/local/bin", &bin.display().to_string());
    let crontab = substitute(&crontab, "redis://redis.internal:6379", &server.url());

    // The crontab's variable lines (NAME=value, taken literally) and its one job line.
    let mut variables = Vec::new();
    let mut jobs = Vec::new();
    for line in crontab.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.split_once('=') {
            Some((name, value)) if !name.contains(char::is_whitespace) => {
                variables.push((name.to_owned(), value.to_owned()))
            }
            _ => jobs.push(after_fields(line, 5).to_owned()),
        }
    }
    assert_eq!(jobs.len(), 1, "{crontab}");
    let job = &jobs[0];
    assert!(job.contains(" nightly-backup "), "{job}");
    assert!(variables.iter().any(|(name, _)| name == "PATH"), "{crontab}");

    // What cron gives a job (as env -i would leave it), then the crontab's variables.
    let cron_job = |variables: &[(String, String)]| {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", job]).env_clear().current_dir(dir.path());
        command.env("HOME", dir.path()).env("LOGNAME", "backup").env("SHELL", "/bin/sh");
        command.env("PATH", "/usr/bin:/bin");
        command.envs(variables.iter().map(|(name, value)| (name, value)));
        run(command)
    };

    // The lock is free: the backup runs.
    cron_job(&variables).expect_code(0);
    assert_eq!(lines(&ran), ["ran"]);

    // The previous run still holds it: skipped at once, exit 0, one line saying why.
    let token = hold(&server, "nightly-backup");
    let out = cron_job(&variables);
    out.expect_code(0);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert_eq!(lines(&ran), ["ran"], "the backup ran while the lock was held");
    assert!(out.stderr.contains("rlock: 'nightly-backup' is held by "), "{}", out.stderr);
    release(&server, "nightly-backup", &token);

    // Without the PATH line, cron's PATH does not find rlock (unless a package put one there).
    if ["/usr/bin/rlock", "/bin/rlock"].iter().any(|path| Path::new(path).exists()) {
        eprintln!("an rlock is installed in /usr/bin or /bin: not checking the job without PATH=");
        return;
    }
    variables.retain(|(name, _)| name != "PATH");
    let out = cron_job(&variables);
    out.expect_code(127);
    assert!(out.stderr.contains("rlock: not found"), "{}", out.stderr);
    assert_eq!(lines(&ran), ["ran"]);
}

/// What the tests need of a systemd unit.
struct Unit {
    exec_start: Vec<String>,
    environment_file: String,
    success_exit_status: Vec<i32>,
}

fn parse_unit(text: &str) -> Unit {
    let setting = |name: &str| {
        let values: Vec<&str> =
            text.lines().filter_map(|line| line.trim().strip_prefix(name)).collect();
        assert!(values.len() <= 1, "more than one {name} in {text}");
        values.first().map(|value| value.trim().to_owned())
    };
    let exec_start = setting("ExecStart=").unwrap_or_else(|| panic!("no ExecStart= in {text}"));
    // systemd splits ExecStart= into words; these recipes need no quoting.
    assert!(!exec_start.contains(['"', '\'', '$', '%']), "{exec_start}");
    Unit {
        exec_start: exec_start.split_whitespace().map(str::to_owned).collect(),
        environment_file: setting("EnvironmentFile=")
            .unwrap_or_else(|| panic!("no EnvironmentFile= in {text}")),
        success_exit_status: setting("SuccessExitStatus=")
            .map(|codes| codes.split_whitespace().map(|code| code.parse().unwrap()).collect())
            .unwrap_or_default(),
    }
}

impl Unit {
    /// ExecStart='s command, with the variables of an EnvironmentFile= that points at `server`
    /// (KEY=VALUE lines, as systemd reads them) and nothing else but systemd's PATH.
    fn command(&self, server: &RedisServer, dir: &Path) -> Command {
        let env_file = dir.join("rlock.env");
        std::fs::write(&env_file, format!("# as in the unit\nRLOCK_REDIS={}\n", server.url()))
            .unwrap();
        let mut command = Command::new(&self.exec_start[0]);
        command.args(&self.exec_start[1..]).env_clear().current_dir("/");
        command.env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        let variables = std::fs::read_to_string(&env_file).unwrap();
        for line in variables.lines().filter(|line| !line.starts_with('#')) {
            let (name, value) = line.split_once('=').unwrap();
            command.env(name, value);
        }
        command
    }
}

#[test]
fn systemd_timer_skips_a_held_run_with_a_success_status() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = install_dir(dir.path());
    let ran = dir.path().join("sync-ran");
    stub(&bin.join("sync-reports.sh"), &format!("echo ran >> '{}'", ran.display()));
    let text = substitute(&recipe("systemd-timer"), "/usr/local/bin", &bin.display().to_string());
    let unit = parse_unit(&text);
    assert_eq!(unit.environment_file, "/etc/rlock.env");
    assert!(text.contains("OnCalendar="), "the timer unit is missing: {text}");

    // The lock is free: the sync runs.
    run(unit.command(&server, dir.path())).expect_code(0);
    assert_eq!(lines(&ran), ["ran"]);

    // Another machine's run holds it: ends at once, with a code the unit counts as success.
    let token = hold(&server, "sync-reports");
    let out = run(unit.command(&server, dir.path()));
    assert!(
        unit.success_exit_status.contains(&out.code()),
        "exit {} is not in SuccessExitStatus={:?}; stderr: {}",
        out.code(),
        unit.success_exit_status,
        out.stderr
    );
    assert_ne!(out.code(), 0);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert_eq!(lines(&ran), ["ran"], "the sync ran while the lock was held");
    release(&server, "sync-reports", &token);
}

#[test]
fn systemd_standby_takes_over_when_the_worker_ends() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = install_dir(dir.path());
    let started = dir.path().join("started");
    // Each machine's worker says it started, then works until told to stop.
    let stop = dir.path().join("stop-$WORKER");
    let body = format!("echo \"$WORKER\" >> '{}'\n{}", started.display(), wait_for_file(&stop));
    stub(&bin.join("worker"), &body);
    let text = substitute(&recipe("systemd-standby"), "/usr/local/bin", &bin.display().to_string());
    let unit = parse_unit(&text);
    assert_eq!(unit.environment_file, "/etc/rlock.env");
    let machine = |name: &str| {
        let mut command = unit.command(&server, dir.path());
        command.env("WORKER", name);
        spawn(command)
    };

    let first = machine("a");
    assert!(eventually(Duration::from_secs(10), || lines(&started) == ["a"]), "a never started");
    let second = machine("b");
    assert!(
        eventually(Duration::from_secs(10), || queued(&server, "singleton-worker") == 1),
        "the standby never joined the queue"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&started), ["a"], "the standby ran its worker while a held the lock");

    // a's worker ends: a exits with its status, and b takes over at once.
    std::fs::write(dir.path().join("stop-a"), "").unwrap();
    first.finish(Duration::from_secs(10)).expect_code(0);
    let ended = Instant::now();
    assert!(
        eventually(Duration::from_secs(10), || lines(&started) == ["a", "b"]),
        "b never took over"
    );
    assert!(ended.elapsed() < Duration::from_secs(2), "the takeover took {:?}", ended.elapsed());

    // systemctl stop with KillMode=mixed: SIGTERM to rlock alone, which stops the worker (killed
    // by it: 143) and releases the lock.
    kill(second.pid(), Signal::SIGTERM).unwrap();
    second.finish(Duration::from_secs(10)).expect_code(143);
    assert!(!is_held(&server, "singleton-worker"), "the lock was not released");
}

/// A CI job's `command` (in bash, as both runners use it) waits while another deploy holds the
/// lock, says so in the log, then deploys under `label` and passes the deploy's status through.
fn deploy_waits_its_turn(command: &str, variables: &[(&str, String)], label: &str) {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = install_dir(dir.path());
    let checkout = dir.path().join("checkout");
    std::fs::create_dir(&checkout).unwrap();
    let deployed = dir.path().join("deployed");
    let go = dir.path().join("go");
    let body =
        format!("echo deploying >> '{}'\n{}\nexit 3", deployed.display(), wait_for_file(&go));
    stub(&checkout.join("deploy.sh"), &body);

    let token = hold(&server, "deploy-prod");
    let mut job = Command::new("bash");
    job.args(["-e", "-c", command]).env_clear().current_dir(&checkout);
    job.env("PATH", path_with(&bin)).env("HOME", dir.path()).env("RLOCK_REDIS", server.url());
    job.envs(variables.iter().map(|(name, value)| (name, value)));
    let job = spawn(job);

    // While it waits, the log (stderr, not a terminal) says for what and behind whom.
    let waiting = "rlock: waiting for 'deploy-prod': held by ";
    assert!(
        eventually(Duration::from_secs(10), || job.stderr_so_far().contains(waiting)),
        "no progress line while waiting; stderr: {}",
        job.stderr_so_far()
    );
    let log = job.stderr_so_far();
    let line = log.lines().find(|line| line.starts_with(waiting)).unwrap_or_default();
    assert!(line.contains("; place 1 of 1; waited 0s"), "{log}");
    assert!(!deployed.exists(), "deployed while another deploy held the lock");

    // The other deploy ends: this one deploys, labelled with its pipeline.
    release(&server, "deploy-prod", &token);
    assert!(eventually(Duration::from_secs(10), || deployed.exists()), "never deployed");
    let status = rlock(&server).args(["status", "--json", "deploy-prod"]).output();
    status.expect_code(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["holder"]["label"], label, "{status}");
    let list = rlock(&server).arg("list").output();
    list.expect_code(0);
    assert!(list.stdout.contains(&format!("label {label}")), "{}", list.stdout);

    std::fs::write(&go, "").unwrap();
    let out = job.finish(Duration::from_secs(10));
    out.expect_code(3);
    assert_eq!(lines(&deployed), ["deploying"]);
    let progress = out.stderr.lines().filter(|line| line.starts_with(waiting)).count();
    assert_eq!(progress, 1, "one line when the wait starts, the next after 30s: {}", out.stderr);
}

#[test]
fn github_deploy_waits_its_turn_and_shows_its_run() {
    let server_url = "https://github.example.com";
    let workflow = recipe("github");
    let step: Vec<&str> = workflow.lines().map(str::trim).collect();
    let run = step.iter().find_map(|line| line.strip_prefix("run: ")).expect("no run: line");
    let env_at = step.iter().position(|line| *line == "env:").expect("no env: in the step");
    // The step's env: mapping, with GitHub's ${{ }} expressions given test values.
    let expand = |value: &str| {
        let mut value = value.to_owned();
        for (expression, test_value) in [
            ("${{ secrets.RLOCK_REDIS }}", "REDIS_URL"),
            ("${{ github.server_url }}", server_url),
            ("${{ github.repository }}", "acme/shop"),
            ("${{ github.run_id }}", "4242"),
        ] {
            value = value.replace(expression, test_value);
        }
        assert!(!value.contains("${{"), "an expression the test does not know: {value}");
        value
    };
    let mut variables = Vec::new();
    for line in step[env_at + 1..].iter().take_while(|line| !line.starts_with("run:")) {
        let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line}"));
        variables.push((name, expand(value)));
    }
    // The secret is the fixture's URL, which deploy_waits_its_turn sets.
    let secret =
        variables.iter().position(|(name, value)| *name == "RLOCK_REDIS" && value == "REDIS_URL");
    variables.remove(secret.expect("RLOCK_REDIS is not the secret"));
    let label = format!("{server_url}/acme/shop/actions/runs/4242");
    deploy_waits_its_turn(run, &variables, &label);
}

#[test]
fn gitlab_deploy_waits_its_turn_and_shows_its_job() {
    let job = recipe("gitlab");
    let rows: Vec<&str> = job.lines().map(str::trim).collect();
    let script_at = rows.iter().position(|line| *line == "script:").expect("no script:");
    let commands: Vec<&str> =
        rows[script_at + 1..].iter().map_while(|line| line.strip_prefix("- ")).collect();
    assert_eq!(commands.len(), 1, "{job}");
    let url = "https://gitlab.example.com/acme/shop/-/jobs/4242".to_owned();
    deploy_waits_its_turn(commands[0], &[("CI_JOB_URL", url.clone())], &url);
}

#[test]
fn script_runs_its_steps_under_one_lock_and_releases_it() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = install_dir(dir.path());
    let log = dir.path().join("log");
    // Each step notes whether the lock is held while it runs.
    for (step, extra) in [("one", ""), ("two", "exit ${STEP_TWO_EXIT:-0}")] {
        let body = format!(
            "if rlock ttl db-maintenance >/dev/null; then state=held; else state=free; fi\n\
             echo \"{step} $state\" >> '{}'\n{extra}",
            log.display()
        );
        stub(&dir.path().join(format!("step-{step}.sh")), &body);
    }
    let text = recipe("script");
    let script = |text: &str, step_two_exit: i32| {
        let path = dir.path().join("maintenance.sh");
        std::fs::write(&path, text).unwrap();
        let mut command = Command::new("bash");
        command.arg(&path).env_clear().current_dir(dir.path());
        command.env("PATH", path_with(&bin)).env("RLOCK_REDIS", server.url());
        command.env("STEP_TWO_EXIT", step_two_exit.to_string());
        spawn(command)
    };
    let released = || rlock(&server).args(["ttl", "db-maintenance"]).output().code() == 1;

    script(&text, 0).finish(Duration::from_secs(20)).expect_code(0);
    assert_eq!(lines(&log), ["one held", "two held"]);
    assert!(released(), "the lock was left held");

    // A failing step ends the script with its status; the trap still releases the lock.
    std::fs::remove_file(&log).unwrap();
    script(&text, 4).finish(Duration::from_secs(20)).expect_code(4);
    assert_eq!(lines(&log), ["one held", "two held"]);
    assert!(released(), "the lock was left held after a failed step");

    // Held by another: the script waits, and runs once the lock is released.
    std::fs::remove_file(&log).unwrap();
    let token = hold(&server, "db-maintenance");
    let waiting = script(&text, 0);
    assert!(eventually(Duration::from_secs(10), || queued(&server, "db-maintenance") == 1));
    assert!(!log.exists(), "a step ran while the lock was held");
    release(&server, "db-maintenance", &token);
    waiting.finish(Duration::from_secs(20)).expect_code(0);
    assert_eq!(lines(&log), ["one held", "two held"]);

    // Held for longer than the wait: exit 75, no step run. The 5 minutes are cut to 1 s here.
    std::fs::remove_file(&log).unwrap();
    let token = hold(&server, "db-maintenance");
    let short = substitute(&text, "-w 5m", "-w 1s");
    script(&short, 0).finish(Duration::from_secs(20)).expect_code(75);
    assert!(!log.exists(), "a step ran without the lock");
    release(&server, "db-maintenance", &token);
}

#[test]
fn fence_refuses_a_write_with_an_older_fence() {
    assert!(
        Command::new("sqlite3").arg("-version").output().is_ok_and(|out| out.status.success()),
        "sqlite3 is not installed (Debian/Ubuntu: apt-get install sqlite3)"
    );
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("deploy.db");
    let text = substitute(&recipe("fence"), "/var/lib/deploy/deploy.db", &db.display().to_string());
    write_script(&dir.path().join("record-deploy.sh"), &text);
    let row = || {
        let out =
            Command::new("sqlite3").arg(&db).arg("SELECT version, fence FROM deployments").output();
        String::from_utf8_lossy(&out.unwrap().stdout).trim().to_owned()
    };
    let fence = || server.cmd::<String>(&["GET", "{rlock:deploy-prod}}fence"]);
    let record = |version: &str| {
        let out = rlock(&server)
            .args(["run", "deploy-prod", "--", "./record-deploy.sh", version])
            .current_dir(dir.path())
            .output();
        out.expect_code(0);
        fence()
    };
    let direct = |version: &str, fence: &str| {
        let mut command = Command::new("./record-deploy.sh");
        command.arg(version).env_clear().current_dir(dir.path());
        command.env("PATH", "/usr/bin:/bin").env("RLOCK_FENCE", fence);
        run(command)
    };

    let old = record("v1.4.2");
    assert_eq!(row(), format!("v1.4.2|{old}"));
    let new = record("v1.4.3");
    assert!(new.parse::<u64>().unwrap() > old.parse::<u64>().unwrap(), "{old} then {new}");
    assert_eq!(row(), format!("v1.4.3|{new}"));

    // A holder that froze with the older fence and wakes up after the newer one wrote: refused.
    let out = direct("v1.4.1", &old);
    out.expect_code(1);
    assert!(out.stderr.contains("record-deploy: refused"), "{}", out.stderr);
    assert_eq!(row(), format!("v1.4.3|{new}"), "the late write changed the row");

    // The current holder may write again; a version that does not fit in the SQL is refused.
    direct("v1.4.4", &new).expect_code(0);
    assert_eq!(row(), format!("v1.4.4|{new}"));
    direct("v1'; DROP TABLE deployments; --", &new).expect_code(2);
    assert_eq!(row(), format!("v1.4.4|{new}"));
}
