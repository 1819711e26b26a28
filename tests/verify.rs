//! `cib verify`: each check on a broken snippet gives exactly the expected
//! diagnostics (text and line), and a document with many problems gives
//! the output kept in `tests/golden/verify/` (`UPDATE_EXPECT=1`
//! re-blesses).

use proptest::prelude::*;
use std::fs;
use std::path::Path;
use warden::core::cib::duration::{parse_interval_ms, parse_msec};
use warden::core::cib::verify::{exit_code, render, summary, verify, EXIT_INVALID};

/// A clean two-node cluster. Line numbers matter to the tests below.
const BASE: &str = r#"<cib epoch="1" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config>
      <cluster_property_set id="options">
        <nvpair id="options-quorum" name="no-quorum-policy" value="stop"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
    </nodes>
    <resources>
      <primitive id="fence-n1" class="stonith" type="fence_ipmilan">
        <instance_attributes id="fence-n1-params">
          <nvpair id="fence-n1-ip" name="ip" value="10.0.0.101"/>
          <nvpair id="fence-n1-password" name="password" value="hunter2"/>
          <nvpair id="fence-n1-delay" name="pcmk_delay_base" value="5s"/>
        </instance_attributes>
      </primitive>
      <primitive id="fence-n2" class="stonith" type="fence_ipmilan">
        <instance_attributes id="fence-n2-params">
          <nvpair id="fence-n2-ip" name="ip" value="10.0.0.102"/>
        </instance_attributes>
      </primitive>
      <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
        <operations>
          <op id="vip-monitor" name="monitor" interval="10s" timeout="20s"/>
        </operations>
      </primitive>
      <group id="front">
        <primitive id="mail" class="systemd" type="postfix"/>
      </group>
    </resources>
    <constraints>
      <rsc_location id="loc-vip" rsc="vip" node="n1" score="100"/>
      <rsc_colocation id="col" rsc="front" with-rsc="vip" score="INFINITY"/>
      <rsc_order id="ord" first="vip" then="front"/>
    </constraints>
  </configuration>
</cib>
"#;

/// Applies `edits` (text, replacement) to BASE and checks the exact
/// diagnostics.
fn check(edits: &[(&str, &str)], expected: &[&str]) {
    let mut doc = BASE.to_string();
    for (from, to) in edits {
        assert!(doc.contains(from), "BASE has no {from:?}");
        doc = doc.replacen(from, to, 1);
    }
    let actual: Vec<String> = verify(&doc, "cib.xml")
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(actual, expected, "\n{}", actual.join("\n"));
}

#[test]
fn the_base_document_is_clean() {
    check(&[], &[]);
}

#[test]
fn syntax_errors_stop_everything() {
    check(
        &[("</resources>", "")],
        &["cib.xml:39: error: malformed XML: ill-formed document: expected `</resources>`, but `</configuration>` was found"],
    );
    let d = verify("  \n", "empty.xml");
    assert_eq!(
        d.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        vec!["empty.xml:1: error: the file is empty: expected a <cib> document"]
    );
}

#[test]
fn schema_problems_are_errors() {
    check(
        &[(r#"name="monitor" interval="10s""#, r#"name="monitor""#)],
        &["cib.xml:27: error: op 'vip-monitor': needs attribute 'interval'"],
    );
    check(
        &[(r#"class="ocf" provider="heartbeat""#, r#"class="ocf""#)],
        &["cib.xml:25: error: primitive 'vip': needs attribute 'provider'"],
    );
    check(
        &[(r#"class="ocf" provider="heartbeat""#, r#"class="ocff" provider="heartbeat""#)],
        &["cib.xml:25: error: primitive 'vip': attribute 'class' is 'ocff': expected one of ocf, lsb, systemd, service, stonith, heartbeat, upstart, nagios"],
    );
    check(
        &[(r#"score="100""#, r#"score="INFINTY""#)],
        &["cib.xml:35: error: rsc_location 'loc-vip': attribute 'score' is 'INFINTY': expected an integer, INFINITY, +INFINITY or -INFINITY"],
    );
    check(
        &[(r#"score="100""#, r#"score="10x""#)],
        &["cib.xml:35: error: rsc_location 'loc-vip': attribute 'score' is '10x': expected an integer, INFINITY, +INFINITY or -INFINITY"],
    );
    check(
        &[("<group id=\"front\">", "<foo/>\n      <group id=\"front\">")],
        &["cib.xml:30: error: <resources>: unexpected element <foo>: expected primitive, template, group, clone, master or bundle"],
    );
}

#[test]
fn groups_must_hold_primitives() {
    check(
        &[(
            "        <primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>\n",
            "",
        )],
        &["cib.xml:30: error: group 'front': needs element <primitive>"],
    );
    check(
        &[(
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>",
            "<clone id=\"c\"><primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/></clone>",
        )],
        &[
            "cib.xml:30: error: group 'front': needs element <primitive>",
            "cib.xml:31: error: group 'front': unexpected element <clone>: expected meta_attributes, instance_attributes or primitive",
        ],
    );
}

#[test]
fn duplicate_ids_and_a_primitive_in_two_groups() {
    check(
        &[("<rsc_order id=\"ord\"", "<rsc_order id=\"col\"")],
        &["cib.xml:37: error: rsc_order 'col': id 'col' is already used by <rsc_colocation> on line 36"],
    );
    check(
        &[(
            "      </group>\n",
            "      </group>\n      <group id=\"back\">\n        <primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>\n      </group>\n",
        )],
        &["cib.xml:34: error: primitive 'mail': is already a member of group 'front' (line 31): a primitive belongs to one group only"],
    );
}

#[test]
fn references_to_missing_resources_and_nodes() {
    check(
        &[(r#"rsc="vip" node="n1""#, r#"rsc="vipp" node="n1""#)],
        &["cib.xml:35: error: rsc_location 'loc-vip': resource 'vipp' does not exist (did you mean 'vip'?)"],
    );
    check(
        &[(r#"with-rsc="vip""#, r#"with-rsc="vip-monitor""#)],
        &["cib.xml:36: error: rsc_colocation 'col': 'vip-monitor' is an <op>, not a resource or tag"],
    );
    check(
        &[(r#"first="vip""#, r#"first="nothing""#)],
        &["cib.xml:37: error: rsc_order 'ord': resource 'nothing' does not exist"],
    );
    check(
        &[(r#"node="n1""#, r#"node="n3""#)],
        &["cib.xml:35: warning: rsc_location 'loc-vip': node 'n3' is not a node of this cluster: the constraint has no effect (did you mean 'n1'?)"],
    );
    check(
        &[(
            "<rsc_order id=\"ord\" first=\"vip\" then=\"front\"/>",
            "<rsc_order id=\"ord\"><resource_set id=\"s\"><resource_ref id=\"vip\"/><resource_ref id=\"fornt\"/></resource_set></rsc_order>",
        )],
        &["cib.xml:37: error: resource_ref 'fornt': resource 'fornt' does not exist (did you mean 'front'?)"],
    );
}

#[test]
fn templates_and_id_refs_name_the_right_kind() {
    check(
        &[(
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>",
            "<primitive id=\"mail\" template=\"vip\"/>",
        )],
        &["cib.xml:31: error: primitive 'mail': 'vip' is a <primitive>, not a <template>"],
    );
    check(
        &[(
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>",
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"><meta_attributes id-ref=\"fence-n2-params\"/></primitive>",
        )],
        &["cib.xml:31: error: <meta_attributes>: id-ref 'fence-n2-params' refers to an <instance_attributes> (line 21), not to a <meta_attributes>: Pacemaker ignores the reference"],
    );
    check(
        &[(
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>",
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"><meta_attributes id-ref=\"mail-meta\"/></primitive>",
        )],
        &["cib.xml:31: error: <meta_attributes>: id-ref 'mail-meta' matches no <meta_attributes>"],
    );
}

#[test]
fn operations_intervals_timeouts_and_duplicates() {
    check(
        &[(r#"interval="10s""#, r#"interval="20x""#)],
        &["cib.xml:27: error: op 'vip-monitor': attribute 'interval' is '20x': unknown unit 'x': expected a number of seconds with an optional unit (ms, s, m, h; e.g. 20s, 500ms, 2min), or an ISO 8601 duration such as PT20S (Pacemaker would read 0: the operation would not recur)"],
    );
    check(
        &[(r#"timeout="20s""#, r#"timeout="PT20S""#)],
        &["cib.xml:27: error: op 'vip-monitor': attribute 'timeout' is 'PT20S': it does not start with a number: expected a number of seconds with an optional unit (ms, s, m, h; e.g. 20s, 500ms, 2min)"],
    );
    check(&[(r#"interval="10s""#, r#"interval="PT10S""#)], &[]);
    check(
        &[(r#"interval="10s""#, r#"interval="P1D""#)],
        &["cib.xml:27: warning: op 'vip-monitor': interval 'P1D' is 0 to Pacemaker, which counts the days and years of an ISO 8601 duration from 1: write '24h'"],
    );
    check(
        &[(
            "timeout=\"20s\"/>",
            "timeout=\"20s\"/>\n          <op id=\"vip-monitor-2\" name=\"monitor\" interval=\"10000ms\"/>",
        )],
        &["cib.xml:28: error: op 'vip-monitor-2': repeats monitor every 10s of op 'vip-monitor' (line 27): each name and interval may be used once per resource"],
    );
    check(
        &[(r#"timeout="20s""#, r#"timeout="20s" on-fail="demote""#)],
        &["cib.xml:27: error: op 'vip-monitor': on-fail 'demote' is only allowed for promote and for recurring monitors with role Promoted"],
    );
}

#[test]
fn meta_attributes_of_resources() {
    let meta = |pair: &str| {
        format!(
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"><meta_attributes id=\"m\">{pair}</meta_attributes></primitive>"
        )
    };
    let mail = "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/>";
    check(
        &[(mail, &meta("<nvpair id=\"m1\" name=\"target-role\" value=\"Sarted\"/>"))],
        &["cib.xml:31: error: nvpair 'm1': target-role 'Sarted' is not a role: expected Stopped, Started, Unpromoted or Promoted (did you mean 'Started'?)"],
    );
    check(
        &[(mail, &meta("<nvpair id=\"m1\" name=\"target-role\" value=\"Promoted\"/>"))],
        &["cib.xml:31: error: nvpair 'm1': target-role 'Promoted' only makes sense for promotable clones, and 'mail' is not in one"],
    );
    check(
        &[(mail, &meta("<nvpair id=\"m1\" name=\"resource-stickiness\" value=\"INFINTY\"/>"))],
        &["cib.xml:31: warning: nvpair 'm1': resource-stickiness 'INFINTY' is not a score: expected an integer, INFINITY, +INFINITY or -INFINITY (Pacemaker reads it as 0)"],
    );
    check(
        &[(mail, &meta("<nvpair id=\"m1\" name=\"requires\" value=\"always\"/>"))],
        &["cib.xml:31: error: nvpair 'm1': requires 'always' is not valid: expected nothing, quorum, fencing or unfencing"],
    );
    check(
        &[(
            mail,
            "<primitive id=\"mail\" class=\"systemd\" type=\"postfix\"/></group><clone id=\"c\"><meta_attributes id=\"cm\"><nvpair id=\"cm1\" name=\"promotable\" value=\"true\"/></meta_attributes><group id=\"g2\"><primitive id=\"x\" class=\"lsb\" type=\"x\"/>",
        ), ("      </group>\n", "      </group></clone>\n")],
        &["cib.xml:31: error: primitive 'x': class 'lsb' cannot be promoted: a promotable clone needs an OCF agent"],
    );
}

#[test]
fn cluster_properties() {
    check(
        &[(r#"name="no-quorum-policy""#, r#"name="no-quorum-polcy""#)],
        &["cib.xml:5: warning: nvpair 'options-quorum': unknown cluster property 'no-quorum-polcy' (did you mean 'no-quorum-policy'?)"],
    );
    check(
        &[(r#"value="stop""#, r#"value="maybe""#)],
        &["cib.xml:5: error: nvpair 'options-quorum': no-quorum-policy 'maybe' is not valid: expected stop, freeze, ignore, demote or suicide (Pacemaker uses the default, stop)"],
    );
    check(
        &[(r#"name="no-quorum-policy" value="stop""#, r#"name="default-resource-stickiness" value="1""#)],
        &["cib.xml:5: error: nvpair 'options-quorum': cluster property 'default-resource-stickiness' is no longer supported (not allowed since schema pacemaker-2.10): set resource-stickiness in rsc_defaults"],
    );
    check(
        &[(r#"name="no-quorum-policy" value="stop""#, r#"name="crmd-transition-delay" value="2s""#)],
        &["cib.xml:5: warning: nvpair 'options-quorum': 'crmd-transition-delay' is the deprecated name of cluster property 'transition-delay'"],
    );
    check(
        &[(
            r#"name="no-quorum-policy" value="stop""#,
            r#"name="dc-deadtime" value="20 seconds""#,
        )],
        &[],
    );
    check(
        &[(r#"name="no-quorum-policy" value="stop""#, r#"name="dc-deadtime" value="20x""#)],
        &["cib.xml:5: error: nvpair 'options-quorum': dc-deadtime '20x' is not valid: expected a duration such as 20s, 5min or PT1H (Pacemaker uses the default, 20s)"],
    );
}

#[test]
fn fencing_disabled_missing_or_racing() {
    check(
        &[(r#"name="no-quorum-policy" value="stop""#, r#"name="stonith-enabled" value="false""#)],
        &["cib.xml:5: warning: nvpair 'options-quorum': fencing is disabled (stonith-enabled=false): when a node stops responding, its resources are started elsewhere without making sure it is off, which can run them twice and corrupt shared data"],
    );
    check(
        &[
            (r#"<primitive id="fence-n1" class="stonith""#, r#"<primitive id="fence-n1" class="lsb""#),
            (r#"<primitive id="fence-n2" class="stonith""#, r#"<primitive id="fence-n2" class="lsb""#),
        ],
        &["cib.xml:12: error: <resources>: fencing is enabled but no fence device is configured, so no resource will start: add a stonith resource (or set stonith-enabled=false on a test cluster)"],
    );
    check(
        &[(r#"name="pcmk_delay_base" value="5s""#, r#"name="pcmk_delay_base" value="0""#)],
        &["cib.xml:8: warning: <nodes>: a two-node cluster has no protection against fencing races: after a split both nodes may fence each other at the same time; set pcmk_delay_base (e.g. 5s) on the fence device of the node that should survive, or the cluster property priority-fencing-delay (e.g. 15s) with resource priorities"],
    );
    // priority-fencing-delay protects too; a third node makes races moot.
    check(
        &[
            (
                r#"name="pcmk_delay_base" value="5s""#,
                r#"name="pcmk_delay_base" value="0""#,
            ),
            (
                r#"name="no-quorum-policy" value="stop""#,
                r#"name="priority-fencing-delay" value="15s""#,
            ),
        ],
        &[],
    );
    check(
        &[
            (
                r#"name="pcmk_delay_base" value="5s""#,
                r#"name="pcmk_delay_base" value="0""#,
            ),
            (
                "<node id=\"2\" uname=\"n2\"/>",
                "<node id=\"2\" uname=\"n2\"/><node id=\"3\" uname=\"n3\"/>",
            ),
        ],
        &[],
    );
}

#[test]
fn fencing_levels() {
    let level = |attrs: &str| {
        format!("    </constraints>\n    <fencing-topology>\n      <fencing-level id=\"fl\" index=\"1\" {attrs}/>\n    </fencing-topology>")
    };
    check(
        &[("    </constraints>", &level("target=\"n1\" devices=\"fence-n1,fence-n3\""))],
        &["cib.xml:40: error: fencing-level 'fl': fence device 'fence-n3' does not exist (did you mean 'fence-n1'?)"],
    );
    check(
        &[("    </constraints>", &level("target=\"n1\" devices=\"vip\""))],
        &["cib.xml:40: error: fencing-level 'fl': 'vip' is not a fence device: it is a resource of class 'ocf'"],
    );
    check(
        &[("    </constraints>", &level("target=\"n1\" devices=\"fence-n1, fence-n2\""))],
        &["cib.xml:40: error: fencing-level 'fl': attribute 'devices' is 'fence-n1, fence-n2': expected fence device ids separated by commas, without spaces"],
    );
    check(
        &[("    </constraints>", &level("target=\"n4\" devices=\"fence-n1\""))],
        &["cib.xml:40: warning: fencing-level 'fl': target 'n4' is not a node of this cluster (did you mean 'n1'?)"],
    );
}

#[test]
fn constraints_with_themselves() {
    check(
        &[(r#"rsc="front" with-rsc="vip""#, r#"rsc="vip" with-rsc="vip""#)],
        &["cib.xml:36: error: rsc_colocation 'col': 'vip' is colocated with itself: name two different resources"],
    );
    check(
        &[(r#"first="vip" then="front""#, r#"first="front" then="front""#)],
        &["cib.xml:37: error: rsc_order 'ord': 'front' is ordered after itself (Pacemaker 2.1.5's scheduler aborts on this): name two different resources"],
    );
}

#[test]
fn tags_nodes_and_disabled_validation() {
    check(
        &[("    </constraints>", "    </constraints>\n    <tags><tag id=\"t\"><obj_ref id=\"vip\"/><obj_ref id=\"mial\"/></tag></tags>")],
        &["cib.xml:39: warning: obj_ref 'mial': 'mial' does not exist (did you mean 'mail'?)"],
    );
    check(
        &[(
            "<node id=\"2\" uname=\"n2\"/>",
            "<node id=\"2\" uname=\"n1\"/>",
        )],
        &["cib.xml:10: warning: node '2': name 'n1' is already used by node '1' (line 9)"],
    );
    check(
        &[
            ("validate-with=\"pacemaker-3.9\"", "validate-with=\"none\""),
            (r#"score="100""#, r#"score="INFINTY""#),
        ],
        &[
            "cib.xml:1: warning: <cib>: schema validation is disabled (validate-with=\"none\"), so schema problems are only warnings: set validate-with=\"pacemaker-3.9\"",
            "cib.xml:35: warning: rsc_location 'loc-vip': attribute 'score' is 'INFINTY': expected an integer, INFINITY, +INFINITY or -INFINITY",
        ],
    );
}

#[test]
fn secrets_never_appear() {
    let doc = BASE
        .replace(
            r#"name="no-quorum-policy" value="stop""#,
            r#"name="password" value="hunter2""#,
        )
        .replace(
            r#"type="IPaddr2""#,
            r#"type="IPaddr2" passwd="hunter2" ipmi_passwd="hunter2""#,
        );
    let out = render(&verify(&doc, "cib.xml"));
    assert!(out.contains("unknown attribute 'passwd'"), "{out}");
    assert!(out.contains("unknown cluster property 'password'"), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
}

#[test]
fn render_and_exit_codes() {
    let doc = BASE
        .replace(r#"score="100""#, r#"score="INFINTY""#)
        .replace(r#"node="n1""#, r#"node="n3""#);
    let d = verify(&doc, "cib.xml");
    assert_eq!(
        render(&d),
        "cib.xml:35: error: rsc_location 'loc-vip': attribute 'score' is 'INFINTY': expected an integer, INFINITY, +INFINITY or -INFINITY\n\
         cib.xml:35: warning: rsc_location 'loc-vip': node 'n3' is not a node of this cluster: the constraint has no effect (did you mean 'n1'?)\n\
         1 error, 1 warning\n"
    );
    assert_eq!(exit_code(&d), EXIT_INVALID);
    assert_eq!(summary(&verify(BASE, "cib.xml")), "0 errors, 0 warnings");
    assert_eq!(exit_code(&verify(BASE, "cib.xml")), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is cut out of, copied within or pasted into a document,
    /// verify answers with located diagnostics and never panics.
    #[test]
    fn damaged_documents_get_located_diagnostics(
        cut in 0usize..BASE.len(),
        len in 0usize..40,
        paste in "[<>/=\" a-z0-9_-]{0,12}",
        copy in any::<bool>(),
    ) {
        let mut doc: Vec<u8> = BASE.as_bytes().to_vec();
        let end = (cut + len).min(doc.len());
        let piece: Vec<u8> = doc[cut..end].to_vec();
        if copy {
            doc.splice(cut..cut, piece);
        } else {
            doc.splice(cut..end, paste.bytes());
        }
        let doc = String::from_utf8_lossy(&doc).to_string();
        for d in verify(&doc, "cib.xml") {
            prop_assert!(d.line.is_some(), "{d}");
            prop_assert!(d.to_string().starts_with("cib.xml:"), "{d}");
        }
    }

    #[test]
    fn any_duration_text_is_read_or_refused(spec in "\\PC{0,16}") {
        let _ = parse_msec(&spec);
        let _ = parse_interval_ms(&spec);
        let _ = parse_interval_ms(&format!("P{spec}"));
    }
}

#[test]
fn many_problems_golden() {
    let input = "tests/golden/verify/many-problems.xml";
    let text = fs::read_to_string(input).unwrap();
    let out = render(&verify(&text, input));
    golden("tests/golden/verify/many-problems.txt", &out);
}

/// Compares `actual` with a golden file, or rewrites it when
/// `UPDATE_EXPECT=1`.
fn golden(path: &str, actual: &str) {
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        fs::create_dir_all(Path::new(path).parent().unwrap()).unwrap();
        fs::write(path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} is missing: run with UPDATE_EXPECT=1 to create it"));
    assert!(
        expected == actual,
        "{path} differs (UPDATE_EXPECT=1 re-blesses; review the diff):\n--- expected\n{expected}--- actual\n{actual}"
    );
}
