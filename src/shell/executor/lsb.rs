//! LSB init scripts: `LSB_DIR/NAME ACTION`, no parameters, `monitor` run as
//! `status`, exit codes mapped to OCF as Pacemaker maps them, meta-data
//! made up from the script's `### BEGIN INIT INFO` header.
//!
//! Invariant: an LSB script gets no parameters (Pacemaker passes none) and
//! is never run just to describe itself.

use std::path::Path;

use crate::core::action::rc;

/// The action name the script is run with: LSB has `status`, not `monitor`.
pub fn script_action(action: &str) -> &str {
    if action == "monitor" {
        "status"
    } else {
        action
    }
}

fn is_status(action: &str) -> bool {
    matches!(action, "status" | "monitor")
}

/// Pacemaker's mapping of an LSB exit status to an OCF code.
///
/// Non-status actions share codes 0–7 with OCF; anything else is a generic
/// error. `status` has its own codes: 0 running; 1, 2, 3 not running (dead
/// with pidfile, dead with lock file, stopped); 150 not installed, 151
/// insufficient privileges (Pacemaker's own); anything else (4 "unknown")
/// a generic error.
pub fn map_exit(action: &str, code: i32) -> i32 {
    if !is_status(action) {
        return if (0..=7).contains(&code) {
            code
        } else {
            rc::ERR_GENERIC
        };
    }
    match code {
        0 => rc::OK,
        1..=3 => rc::NOT_RUNNING,
        150 => rc::ERR_INSTALLED,
        151 => rc::ERR_PERM,
        _ => rc::ERR_GENERIC,
    }
}

/// The header fields of an init script that meta-data shows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InitInfo {
    pub provides: Option<String>,
    pub required_start: Option<String>,
    pub required_stop: Option<String>,
    pub should_start: Option<String>,
    pub should_stop: Option<String>,
    pub default_start: Option<String>,
    pub default_stop: Option<String>,
    pub short_description: Option<String>,
    pub description: Option<String>,
}

/// Reads the `### BEGIN INIT INFO` block. A description continues on lines
/// that start with `#` followed by a tab or at least two spaces (LSB's rule).
pub fn parse_init_info(script: &str) -> InitInfo {
    let mut info = InitInfo::default();
    let mut in_header = false;
    let mut lines = script.lines().peekable();
    while let Some(line) = lines.next() {
        if !in_header {
            in_header = line.starts_with("### BEGIN INIT INFO");
            continue;
        }
        if line.starts_with("### END INIT INFO") || !line.starts_with('#') {
            break;
        }
        let Some((key, value)) = line[1..].trim_start().split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        let slot = match key {
            "Provides" => &mut info.provides,
            "Required-Start" => &mut info.required_start,
            "Required-Stop" => &mut info.required_stop,
            "Should-Start" => &mut info.should_start,
            "Should-Stop" => &mut info.should_stop,
            "Default-Start" => &mut info.default_start,
            "Default-Stop" => &mut info.default_stop,
            "Short-Description" => &mut info.short_description,
            "Description" => {
                let mut text = value;
                while let Some(next) = lines.peek() {
                    let cont = next.starts_with("#\t") || next.starts_with("#  ");
                    if !cont {
                        break;
                    }
                    text.push(' ');
                    text.push_str(next[1..].trim());
                    lines.next();
                }
                if info.description.is_none() {
                    info.description = Some(text);
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    info
}

/// Meta-data XML for an LSB script, in the resource-agent format, with the
/// default timeouts Pacemaker gives LSB resources.
pub fn metadata_xml(name: &str, info: &InitInfo) -> String {
    let e = |s: &Option<String>| escape(s.as_deref().unwrap_or(""));
    let long = info
        .description
        .as_deref()
        .or(info.short_description.as_deref())
        .unwrap_or(name);
    let short = info.short_description.as_deref().unwrap_or(name);
    format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="{name}" version="1.0">
  <version>1.0</version>
  <longdesc lang="en">{long}</longdesc>
  <shortdesc lang="en">{short}</shortdesc>
  <parameters>
  </parameters>
  <actions>
    <action name="meta-data" timeout="5s" />
    <action name="start" timeout="15s" />
    <action name="stop" timeout="15s" />
    <action name="status" timeout="15s" />
    <action name="restart" timeout="15s" />
    <action name="force-reload" timeout="15s" />
    <action name="monitor" timeout="15s" interval="15s" />
  </actions>
  <special tag="LSB">
    <Provides>{provides}</Provides>
    <Required-Start>{req_start}</Required-Start>
    <Required-Stop>{req_stop}</Required-Stop>
    <Should-Start>{should_start}</Should-Start>
    <Should-Stop>{should_stop}</Should-Stop>
    <Default-Start>{default_start}</Default-Start>
    <Default-Stop>{default_stop}</Default-Stop>
  </special>
</resource-agent>
"#,
        name = escape(name),
        long = escape(long),
        short = escape(short),
        provides = e(&info.provides),
        req_start = e(&info.required_start),
        req_stop = e(&info.required_stop),
        should_start = e(&info.should_start),
        should_stop = e(&info.should_stop),
        default_start = e(&info.default_start),
        default_stop = e(&info.default_stop),
    )
}

/// Reads the script and makes its meta-data.
pub async fn metadata(lsb_dir: &Path, name: &str) -> std::io::Result<String> {
    let text = tokio::fs::read(lsb_dir.join(name)).await?;
    Ok(metadata_xml(
        name,
        &parse_init_info(&String::from_utf8_lossy(&text)),
    ))
}

/// XML text escaping for element content and attribute values.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_like_pacemaker() {
        let cases = [
            (0, 0),
            (1, 7),
            (2, 7),
            (3, 7),
            (4, 1),
            (5, 1),
            (150, 5),
            (151, 4),
            (-1, 1),
        ];
        for (lsb, ocf) in cases {
            assert_eq!(map_exit("status", lsb), ocf, "status {lsb}");
            assert_eq!(map_exit("monitor", lsb), ocf, "monitor {lsb}");
        }
        for code in 0..=7 {
            assert_eq!(map_exit("start", code), code);
        }
        assert_eq!(map_exit("start", 8), 1);
        assert_eq!(map_exit("stop", 150), 1);
        assert_eq!(map_exit("start", -1), 1);
        assert_eq!(script_action("monitor"), "status");
        assert_eq!(script_action("start"), "start");
    }

    #[test]
    fn init_info_header_is_read() {
        let script = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          web\n# Required-Start:    $local_fs $network\n# Short-Description: Web <server>\n# Description:       A web server that\n#                    serves pages.\n# Default-Stop:      0 1 6\n### END INIT INFO\n# Provides: ignored\n";
        let info = parse_init_info(script);
        assert_eq!(info.provides.as_deref(), Some("web"));
        assert_eq!(info.required_start.as_deref(), Some("$local_fs $network"));
        assert_eq!(info.short_description.as_deref(), Some("Web <server>"));
        assert_eq!(
            info.description.as_deref(),
            Some("A web server that serves pages.")
        );
        assert_eq!(info.default_stop.as_deref(), Some("0 1 6"));
        assert_eq!(info.should_start, None);
        let xml = metadata_xml("web", &info);
        assert!(xml.contains("<shortdesc lang=\"en\">Web &lt;server&gt;</shortdesc>"));
        assert!(xml.contains("<Provides>web</Provides>"));
    }

    #[test]
    fn script_without_header_gets_its_name() {
        let info = parse_init_info("#!/bin/sh\necho hi\n");
        assert_eq!(info, InitInfo::default());
        let xml = metadata_xml("plain", &info);
        assert!(xml.contains("<shortdesc lang=\"en\">plain</shortdesc>"));
    }
}
