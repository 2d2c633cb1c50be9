//! dist/hejnal.service passes `systemd-analyze verify` and carries the hardening
//! operators expect.

use std::path::Path;
use std::process::Command;

fn unit() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/hejnal.service"))
        .expect("dist/hejnal.service")
}

#[test]
fn the_unit_is_hardened_and_speaks_notify() {
    let unit = unit();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=hejnal",
        "CacheDirectory=hejnal",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
        "LoadCredential=translate-key:",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "hejnal.service lacks {line:?}");
    }
}

#[test]
fn systemd_analyze_verify_is_clean() {
    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("systemd-analyze not installed; skipping");
        return;
    }
    // Verify against the binary just built, installed where the unit expects it.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = unit().replace("/usr/bin/hejnal", env!("CARGO_BIN_EXE_hejnal"));
    let path = dir.path().join("hejnal.service");
    std::fs::write(&path, text).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("hejnal.service"))
        .collect();
    assert!(out.status.success() && problems.is_empty(), "{stderr}");
}
