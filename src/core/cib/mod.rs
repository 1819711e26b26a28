//! The CIB: Pacemaker's cluster information base, as a typed model with XML
//! in and out.
//!
//! * [`parse`] reads a document into a [`Cib`] plus every [`Diagnostic`],
//!   never panicking; [`to_xml`] writes it back. Elements warden does not
//!   model (clone, bundle, alerts, acls, tags, tickets, templates, ...) are
//!   kept verbatim and written back unchanged.
//! * Versioning: a configuration change bumps `epoch` and zeroes
//!   `num_updates`; a status change bumps `num_updates` ([`Cib::bump`]).
//!   Versions compare as (`admin_epoch`, `epoch`, `num_updates`).
//! * [`digest`] fingerprints a document so replicas can compare.
//! * [`schema`] validates a document against warden's schema
//!   (`cib-schemas/`); [`verify()`] adds the semantic checks of
//!   `cib verify` and [`render`] prints the result; [`duration`] reads
//!   intervals and timeouts exactly as Pacemaker does.
//!
//! Invariant: no IO and no clock. Text comes in, text goes out; the caller
//! reads and writes files.

pub mod diag;
pub mod duration;
pub mod emit;
pub mod model;
pub mod parse;
pub mod schema;
pub mod score;
pub mod verify;
pub mod xml;

pub use diag::{has_errors, Diagnostic, Severity};
pub use emit::to_xml;
pub use model::*;
pub use parse::{parse, Parsed};
pub use score::Score;
pub use verify::{render, verify};

use sha2::{Digest as _, Sha256};

/// A CIB version: (`admin_epoch`, `epoch`, `num_updates`), compared in that
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    pub admin_epoch: u64,
    pub epoch: u64,
    pub num_updates: u64,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.admin_epoch, self.epoch, self.num_updates
        )
    }
}

/// What kind of change was made, for versioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Configuration,
    Status,
}

/// The feature set of the Pacemaker release warden is exact to (2.1.5's
/// `CRM_FEATURE_SET`): written on new CIBs and operation records. A higher
/// one makes that release's tools refuse the CIB.
pub const FEATURE_SET: &str = "3.16.1";

impl Cib {
    pub fn version(&self) -> Version {
        Version {
            admin_epoch: self.admin_epoch,
            epoch: self.epoch,
            num_updates: self.num_updates,
        }
    }

    /// Records that a change was made.
    pub fn bump(&mut self, change: Change) {
        match change {
            Change::Configuration => {
                self.epoch += 1;
                self.num_updates = 0;
            }
            Change::Status => self.num_updates += 1,
        }
    }

    /// A new, empty CIB as `pcs cluster cib` on a fresh cluster would show.
    pub fn empty() -> Cib {
        Cib {
            admin_epoch: 0,
            epoch: 1,
            num_updates: 0,
            validate_with: Some("pacemaker-3.9".to_string()),
            crm_feature_set: Some(FEATURE_SET.to_string()),
            ..Cib::default()
        }
    }
}

/// A fingerprint of the document (SHA-256 of its canonical text), hex.
pub fn digest(cib: &Cib) -> String {
    digest_text(&to_xml(cib))
}

/// SHA-256 of a text, hex.
pub fn digest_text(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<cib epoch="3" num_updates="2" admin_epoch="0" validate-with="pacemaker-3.0" cib-last-written="x">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="o1" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
    </nodes>
    <resources>
      <!-- the VIP -->
      <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="vip-ia">
          <nvpair id="vip-ip" name="ip" value="10.0.0.1"/>
        </instance_attributes>
        <operations>
          <op id="vip-mon" name="monitor" interval="10s"/>
        </operations>
      </primitive>
      <clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="vip" node="n1" score="INFINITY"/>
    </constraints>
    <tags><tag id="t"><obj_ref id="vip"/></tag></tags>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
          <lrm_rsc_op id="vip_last_0" operation="start" call-id="3" rc-code="0" op-status="0" interval="0" weird="yes"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;

    #[test]
    fn reads_the_model_and_keeps_the_unknown() {
        let parsed = parse(SMALL, "small.xml");
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        let cib = parsed.cib.unwrap();
        assert_eq!(
            cib.version(),
            Version {
                admin_epoch: 0,
                epoch: 3,
                num_updates: 2
            }
        );
        assert_eq!(cib.configuration.property("stonith-enabled"), Some("false"));
        let vip = cib.configuration.primitive("vip").unwrap();
        assert_eq!(vip.agent_spec(), "ocf:heartbeat:IPaddr2");
        assert_eq!(vip.attr(SetKind::Instance, "ip"), Some("10.0.0.1"));
        assert!(matches!(
            cib.configuration.resources[0],
            ResourceItem::Comment(_)
        ));
        assert!(
            matches!(&cib.configuration.resources[2], ResourceItem::Other(e) if e.name == "clone")
        );
        assert!(cib.configuration.has_resource("d"));
        assert_eq!(cib.configuration.extra[0].name, "tags");
        let op = &cib.status.node_states[0].lrm.as_ref().unwrap().resources[0].ops[0];
        assert_eq!(
            (op.call_id, op.rc_code, op.interval_ms),
            (Some(3), Some(0), Some(0))
        );
        assert_eq!(
            op.extra_attrs,
            vec![("weird".to_string(), "yes".to_string())]
        );
    }

    #[test]
    fn round_trip_is_semantically_equal() {
        let cib = parse(SMALL, "small.xml").cib.unwrap();
        let out = to_xml(&cib);
        let a = xml::parse_element(SMALL).unwrap();
        let b = xml::parse_element(&out).unwrap();
        assert_eq!(xml::semantic_diff(&a, &b), None, "{out}");
        assert!(out.contains("<!-- the VIP -->"));
    }

    #[test]
    fn versions_bump_as_pacemaker_does() {
        let mut cib = parse(SMALL, "s").cib.unwrap();
        cib.bump(Change::Status);
        assert_eq!(cib.version().to_string(), "0.3.3");
        cib.bump(Change::Configuration);
        assert_eq!(cib.version().to_string(), "0.4.0");
        assert!(
            cib.version()
                > Version {
                    admin_epoch: 0,
                    epoch: 3,
                    num_updates: 9
                }
        );
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error_with_a_line() {
        let truncated = &SMALL[..SMALL.len() / 2];
        let p = parse(truncated, "t.xml");
        assert!(p.cib.is_none());
        let d = &p.diagnostics[0];
        assert!(d.is_error());
        assert_eq!(d.source, "t.xml");
        assert!(d.line.is_some(), "{d}");
        let p = parse("", "e.xml");
        assert!(
            p.diagnostics[0].message.contains("empty"),
            "{:?}",
            p.diagnostics
        );
        let p = parse("<cib><configuration><resources><primitive id='x' class='ocf'></resources></configuration></cib>", "m.xml");
        assert!(p.cib.is_none());
        assert!(
            p.diagnostics[0]
                .to_string()
                .starts_with("m.xml:1: error: malformed XML"),
            "{}",
            p.diagnostics[0]
        );
    }

    #[test]
    fn duplicate_attributes_are_malformed_xml_everywhere() {
        let doc = |op_attrs: &str, rsc_attrs: &str| {
            format!(
                "<cib epoch='1' num_updates='0' admin_epoch='0'><configuration><crm_config/><nodes/><resources/><constraints/></configuration>\n<status><node_state id='1' uname='n1'><lrm id='1'><lrm_resources>\n<lrm_resource id='r' class='ocf' provider='pacemaker' type='Dummy' {rsc_attrs}>\n<lrm_rsc_op id='r_last_0' operation='start' {op_attrs}/></lrm_resource></lrm_resources></lrm></node_state></status></cib>"
            )
        };
        assert!(parse(&doc("call-id='3' x='1'", ""), "ok.xml").cib.is_some());
        for (op, rsc, line) in [
            ("call-id='3' call-id='4'", "", 4),
            ("x='1' x='2'", "", 4),
            ("", "class='lsb'", 3),
        ] {
            let p = parse(&doc(op, rsc), "d.xml");
            assert!(p.cib.is_none(), "{op} {rsc}");
            let d = p.diagnostics[0].to_string();
            assert!(
                d.starts_with(&format!("d.xml:{line}: error: malformed XML"))
                    && d.contains("uplicate"),
                "{d}"
            );
        }
    }

    #[test]
    fn missing_required_attributes_are_reported_with_ids() {
        let p = parse(
            "<cib epoch='1' num_updates='0' admin_epoch='0'><configuration><crm_config/><nodes/>\n<resources><primitive id='x' type='Dummy'/></resources><constraints/></configuration><status/></cib>",
            "f.xml",
        );
        let errors: Vec<String> = p.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            errors,
            vec!["f.xml:2: error: primitive 'x': missing required attribute 'class'"]
        );
    }

    #[test]
    fn digest_changes_with_content() {
        let mut cib = parse(SMALL, "s").cib.unwrap();
        let d1 = digest(&cib);
        assert_eq!(d1.len(), 64);
        cib.bump(Change::Status);
        assert_ne!(d1, digest(&cib));
    }
}
