//! Redis Cluster (`--cluster`): against a real cluster of three masters, with locks on each.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fixture::RedisCluster;
use crate::harness::{assert_one_line_mentioning, eventually, rlock_at};

#[test]
fn every_command_works_with_locks_on_every_master() {
    let cluster = RedisCluster::start(3);
    let seed = cluster.seed();
    // One lock name per master.
    let mut by_node: BTreeMap<u16, String> = BTreeMap::new();
    for n in 0..100 {
        let name = format!("lock{n}");
        by_node.entry(cluster.owner(&format!("rlock:{name}")).port()).or_insert(name);
    }
    assert_eq!(by_node.len(), 3, "{by_node:?}");

    for name in by_node.values() {
        let rlock = || rlock_at(&seed).arg("--cluster");
        let out = rlock().args(["run", name, "--", "sh", "-c", "echo $RLOCK_FENCE"]).output();
        out.expect_code(0);
        // Everything of this lock is on its node.
        let owner = cluster.owner(&format!("rlock:{name}"));
        let fence: String = owner.cmd(&["GET", &format!("{{rlock:{name}}}}}fence")]);
        assert_eq!(out.stdout, format!("{fence}\n"));

        let out = rlock().args(["acquire", "-t", "1m", name]).output();
        out.expect_code(0);
        let token = out.stdout.trim().to_owned();
        assert_eq!(owner.cmd::<String>(&["GET", &format!("rlock:{name}")]), token);
        rlock().args(["ttl", name]).output().expect_code(0);
        rlock().args(["refresh", name, &token]).output().expect_code(0);
        // A waiter is handed the lock on release.
        let waiter = rlock().args(["run", name, "--", "echo", "handed"]).spawn();
        let queue = format!("{{rlock:{name}}}}}queue");
        assert!(eventually(Duration::from_secs(10), || owner.cmd::<i64>(&["ZCARD", &queue]) == 1));
        let out = rlock().args(["status", "--json", name]).output();
        out.expect_code(0);
        let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(status["waiters"], 1, "{status}");
        rlock().args(["release", name, &token]).output().expect_code(0);
        let out = waiter.finish(Duration::from_secs(10));
        out.expect_code(0);
        assert_eq!(out.stdout, "handed\n");
        rlock().args(["acquire", name]).output().expect_code(0);
        rlock().args(["break", name]).output().expect_code(0);
        rlock().args(["ttl", name]).output().expect_code(1);
    }

    // list finds the locks on every master.
    for name in by_node.values() {
        rlock_at(&seed).args(["--cluster", "acquire", name]).output().expect_code(0);
    }
    let out = rlock_at(&seed).args(["--cluster", "list", "--json"]).output();
    out.expect_code(0);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut names: Vec<&str> = listed["locks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|lock| lock["key"].as_str())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = by_node.values().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
}

#[test]
fn a_cluster_node_without_cluster_says_to_add_it() {
    let cluster = RedisCluster::start(3);
    let seed = &cluster.nodes[0];
    let name = (0..100)
        .map(|n| format!("lock{n}"))
        .find(|name| cluster.owner(&format!("rlock:{name}")).port() != seed.port())
        .unwrap();
    let out = rlock_at(&seed.url()).args(["run", &name, "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_one_line_mentioning(&out.stderr, &["Redis Cluster", "--cluster"]);
}

#[test]
fn replicas_a_cluster_master_does_not_have_refuse_the_lock() {
    let cluster = RedisCluster::start(3);
    let seed = &cluster.nodes[0];
    // A lock on another node than the seed: WAIT goes to the master of the lock's slot.
    let name = (0..100)
        .map(|n| format!("lock{n}"))
        .find(|name| cluster.owner(&format!("rlock:{name}")).port() != seed.port())
        .unwrap();
    let owner = cluster.owner(&format!("rlock:{name}"));
    let rlock = || rlock_at(&seed.url()).arg("--cluster");
    let out = rlock().args(["--replicas", "1", "run", &name, "--", "echo", "ran"]).output();
    out.expect_code(125);
    assert_eq!(out.stdout, "");
    assert_one_line_mentioning(&out.stderr, &["was not taken", "only 0 of the 1 replica"]);
    assert_eq!(owner.cmd::<i64>(&["EXISTS", &format!("rlock:{name}")]), 0);
    rlock().args(["--replicas", "0", "run", &name, "--", "echo", "ran"]).output().expect_code(0);
}

/// Moves the slot of `key` from its owner to `to`, with its keys, as resharding does.
fn move_slot(cluster: &RedisCluster, key: &str, to: &crate::fixture::RedisServer) {
    let from = cluster.owner(key);
    let slot: i64 = from.cmd(&["CLUSTER", "KEYSLOT", key]);
    let slot = slot.to_string();
    let id = |node: &crate::fixture::RedisServer| node.cmd::<String>(&["CLUSTER", "MYID"]);
    let (from_id, to_id) = (id(from), id(to));
    let _: String = to.cmd(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
    let _: String = from.cmd(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
    let keys: Vec<String> = from.cmd(&["CLUSTER", "GETKEYSINSLOT", &slot, "100"]);
    let port = to.port().to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    migrate.extend(keys.iter().map(String::as_str));
    let _: String = from.cmd(&migrate);
    for node in &cluster.nodes {
        let _: String = node.cmd(&["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
    }
}

#[test]
fn a_holder_follows_its_lock_to_the_master_its_slot_moved_to() {
    let cluster = RedisCluster::start(3);
    let seed = cluster.seed();
    let rlock = || rlock_at(&seed).arg("--cluster");
    let from = cluster.owner("rlock:moving").port();
    let to = cluster.nodes.iter().find(|node| node.port() != from).unwrap();

    // The slot moves with the lock in it: the refresh is redirected, and finds it there.
    let holder = rlock()
        .args(["run", "-t", "2s", "moving", "--", "sleep", "3"])
        .spawn_holding(cluster.owner("rlock:moving"), "rlock:moving");
    move_slot(&cluster, "rlock:moving", to);
    assert_eq!(cluster.owner("rlock:moving").port(), to.port());
    rlock().args(["run", "-n", "moving", "--", "true"]).output().expect_code(75);
    holder.finish(Duration::from_secs(20)).expect_code(0);
    // Released on the new owner.
    assert_eq!(to.cmd::<i64>(&["EXISTS", "rlock:moving"]), 0);

    // The slot moves back, and the new owner does not hold the lock under the holder's token:
    // the holder counts it lost and stops its command.
    let back = cluster.nodes.iter().find(|node| node.port() == from).unwrap();
    let holder = rlock()
        .args(["run", "-t", "2s", "--kill-grace", "200ms", "moving", "--", "sleep", "20"])
        .spawn_holding(to, "rlock:moving");
    move_slot(&cluster, "rlock:moving", back);
    let _: i64 = back.cmd(&["DEL", "rlock:moving"]);
    let out = holder.finish(Duration::from_secs(20));
    out.expect_code(124);
    assert_one_line_mentioning(&out.stderr, &["lost the lock 'moving'"]);
}
