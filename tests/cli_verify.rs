//! `warden cib verify FILE` and `warden -f FILE cluster verify`: every
//! problem with file, line and id, all in one run; exit 1 on errors, 0 with
//! warnings only; the file is never changed.

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::Path;

/// A small valid CIB with `extra` inserted in place of the markers.
fn cib(resources: &str, constraints: &str) -> String {
    format!(
        r#"<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
    </nodes>
    <resources>
      <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
        <operations>
          <op id="vip-monitor" name="monitor" interval="10s"/>
        </operations>
      </primitive>
{resources}
    </resources>
    <constraints>
{constraints}
    </constraints>
  </configuration>
  <status/>
</cib>
"#
    )
}

fn verify_file(name: &str, text: &str) -> (i32, String, String) {
    let scratch = Scratch::new(&format!("verify-{name}"));
    let file = scratch.file(&format!("{name}.xml"));
    fs::write(&file, text).unwrap();
    let out = warden(&["cib", "verify", file.to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        text,
        "{name}: verify changed the file"
    );
    let code = out.status.code().unwrap_or(-1);
    (code, stdout(&out), file.to_string_lossy().into_owned())
}

#[test]
fn each_kind_of_problem_is_named_with_file_line_and_id() {
    let cases: [(&str, String, &str, &str, u32); 8] = [
        (
            "duplicate-id",
            cib(
                r#"      <primitive id="vip" class="ocf" provider="heartbeat" type="Dummy"/>"#,
                "",
            ),
            "error",
            "vip",
            17,
        ),
        (
            "missing-resource",
            cib(
                "",
                r#"      <rsc_location id="loc" rsc="vipp" node="n1" score="100"/>"#,
            ),
            "error",
            "'loc': resource 'vipp' does not exist (did you mean 'vip'?)",
            20,
        ),
        (
            "missing-node",
            cib(
                "",
                r#"      <rsc_location id="loc" rsc="vip" node="n9" score="100"/>"#,
            ),
            "warning",
            "'loc': node 'n9' is not a node of this cluster",
            20,
        ),
        (
            "bad-score",
            cib(
                "",
                r#"      <rsc_location id="loc" rsc="vip" node="n1" score="INFINTY"/>"#,
            ),
            "error",
            "'loc': attribute 'score' is 'INFINTY'",
            20,
        ),
        (
            "unknown-standard",
            cib(
                r#"      <primitive id="web" class="ocff" provider="heartbeat" type="apache"/>"#,
                "",
            ),
            "error",
            "primitive 'web': attribute 'class' is 'ocff'",
            17,
        ),
        (
            "op-without-interval",
            cib(
                r#"      <primitive id="web" class="ocf" provider="heartbeat" type="apache">
        <operations>
          <op id="web-start" name="start"/>
        </operations>
      </primitive>"#,
                "",
            ),
            "error",
            "op 'web-start': needs attribute 'interval'",
            19,
        ),
        (
            "group-member-defined-twice",
            cib(
                r#"      <group id="g">
        <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"/>
      </group>"#,
                "",
            ),
            "error",
            "primitive 'vip': is already defined",
            18,
        ),
        (
            "group-without-members",
            cib(r#"      <group id="g"/>"#, ""),
            "error",
            "group 'g': needs element <primitive>",
            17,
        ),
    ];
    for (name, text, severity, what, line) in cases {
        let (code, out, file) = verify_file(name, &text);
        assert_eq!(
            code,
            if severity == "error" { 1 } else { 0 },
            "{name}: {out}"
        );
        let expected_start = format!("{file}:{line}: {severity}: ");
        let hit = out
            .lines()
            .find(|l| l.starts_with(&expected_start) && l.contains(what));
        assert!(
            hit.is_some(),
            "{name}: no '{expected_start}...{what}' in:\n{out}"
        );
        assert!(
            out.ends_with(" warnings\n") || out.ends_with(" warning\n"),
            "{name}: no summary line: {out}"
        );
    }
}

#[test]
fn every_problem_of_a_file_in_one_run() {
    let input = "tests/golden/verify/many-problems.xml";
    let out = warden(&["cib", "verify", input]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        fs::read_to_string("tests/golden/verify/many-problems.txt").unwrap()
    );
    // The same through -f / CIB_file.
    let via_f = warden_f(Path::new(input), &["cluster", "verify"]);
    assert_eq!(via_f.status.code(), Some(1));
    assert_eq!(stdout(&via_f), stdout(&out));
}

#[test]
fn the_guides_cib_is_clean_and_warnings_alone_exit_0() {
    let out = warden(&["cib", "verify", "examples/opennebula-two-node/cib.xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "0 errors, 0 warnings\n");
    let out = warden_f(
        Path::new("tests/fixtures/verify/no-fencing-delay.xml"),
        &["cluster", "verify", "--full"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(
            "warning: <nodes>: a two-node cluster has no protection against fencing races"
        ),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("0 errors, 1 warning\n"));
}

#[test]
fn verify_needs_a_file() {
    let out = warden(&["cluster", "verify"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("needs the live cluster"),
        "{}",
        stderr(&out)
    );
    let out = warden(&["cib", "verify"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing argument: expected FILE"),
        "{}",
        stderr(&out)
    );
    let out = warden(&["cib", "verify", "no/such/file.xml"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read the CIB file no/such/file.xml: it does not exist"),
        "{}",
        stderr(&out)
    );
    let scratch = Scratch::new("verify-empty");
    let empty = scratch.file("empty.xml");
    fs::write(&empty, "").unwrap();
    let out = warden(&["cib", "verify", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("the file is empty"),
        "{}",
        stdout(&out)
    );
}
