//! Framing of broadcasts into CPG-sized chunks, and their reassembly.
//!
//! Invariant: a message is handed on whole or not at all, at the position
//! of its last chunk, and every member that saw the same stream of chunks
//! and views makes the same decision about it. Nothing here does IO or
//! reads a clock; memory held for partial messages is bounded.
//!
//! Why chunk at all: libcpg sends anything above its atomic size (1 MiB
//! minus 1 KiB in corosync 3.1) as library fragments with a *blocking*
//! request/reply per fragment and a `usleep` loop on TRY_AGAIN, and its
//! receive side buffers any announced length without a bound. Sending
//! chunks that each fit in one atomic CPG message keeps every call
//! non-blocking, lets the driver keep reading while it sends, and puts a
//! limit on what a peer can make us buffer.
//!
//! Why a view aborts a partial message: CPG's virtual synchrony guarantees
//! that all members of a view see the same messages in the same order, but a
//! member that joins mid-message has missed the first chunks and could never
//! deliver it while the old members would. So every member, the sender
//! included, drops partial messages at a view change; the sender sees its
//! own message aborted and sends it again in the new view. The result is
//! the CPG semantics for one message: delivered in one view to all its
//! members, or not at all.
//!
//! Wire format of one chunk (little-endian), followed by the chunk's bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `WT` |
//! | 2 | 1 | format version, 1 |
//! | 3 | 1 | kind: 0 whole, 1 first, 2 middle, 3 last |
//! | 4 | 1 | flags: bit 0 = payload is zstd-compressed |
//! | 5 | 3 | zero |
//! | 8 | 8 | sender instance (random per connection) |
//! | 16 | 4 | message id (per instance, counting up) |
//! | 20 | 4 | chunk index |
//! | 24 | 4 | encoded length (all chunks' bytes together) |
//! | 28 | 4 | plain length (after decompression) |

use std::collections::BTreeMap;

/// Bytes of the chunk header.
pub const HEADER_BYTES: usize = 32;
const MAGIC: [u8; 2] = *b"WT";
const FORMAT_VERSION: u8 = 1;
const FLAG_ZSTD: u8 = 1;

/// Payloads at least this long are offered to zstd; smaller ones are sent
/// as they are (compressing a few hundred bytes of JSON gains nothing and
/// costs latency).
pub const COMPRESS_MIN_BYTES: usize = 4096;
/// zstd level 1: on a 49 MB CIB with status it compresses about 40:1 at
/// several hundred MB/s; higher levels gain a few percent for 2-5x the time.
const ZSTD_LEVEL: i32 = 1;

/// How big messages may be, and how much a receiver buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Largest payload one broadcast may carry, before compression. Checked
    /// by the sender (an error to the caller) and by every receiver (a
    /// message announcing more is discarded).
    pub max_message_bytes: usize,
    /// Largest total of partial (not yet complete) encoded messages a
    /// receiver holds for all senders together. Going over it means this
    /// node can no longer follow the ordered stream: the transport reports
    /// itself lost rather than deliver a stream with a hole.
    pub max_reassembly_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A 16-node, 5,000-resource CIB with its status section is about
            // 49 MB of XML; leave room for several times that.
            max_message_bytes: 256 << 20,
            max_reassembly_bytes: 512 << 20,
        }
    }
}

/// A payload ready to be cut into chunks: compressed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub compressed: bool,
    pub plain_len: usize,
    pub data: Vec<u8>,
}

impl Encoded {
    /// Compresses `plain` with zstd when that is worth it.
    pub fn new(plain: Vec<u8>) -> Encoded {
        let plain_len = plain.len();
        if plain_len >= COMPRESS_MIN_BYTES {
            if let Ok(z) = zstd::bulk::compress(&plain, ZSTD_LEVEL) {
                if z.len() < plain_len {
                    return Encoded {
                        compressed: true,
                        plain_len,
                        data: z,
                    };
                }
            }
        }
        Encoded {
            compressed: false,
            plain_len,
            data: plain,
        }
    }

    /// The payload as sent: `data` itself, or `data` decompressed into at
    /// most `plain_len` bytes (a peer cannot make us allocate more than it
    /// announced, and what it announced was checked against the limits).
    pub fn decode(self) -> Result<Vec<u8>, String> {
        if !self.compressed {
            return Ok(self.data);
        }
        let plain =
            zstd::bulk::decompress(&self.data, self.plain_len).map_err(|e| format!("zstd: {e}"))?;
        if plain.len() != self.plain_len {
            return Err(format!(
                "announced {} bytes after decompression, got {}",
                self.plain_len,
                plain.len()
            ));
        }
        Ok(plain)
    }
}

/// Where a chunk sits in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Whole,
    First,
    Middle,
    Last,
}

impl Kind {
    fn to_byte(self) -> u8 {
        match self {
            Kind::Whole => 0,
            Kind::First => 1,
            Kind::Middle => 2,
            Kind::Last => 3,
        }
    }
    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Whole),
            1 => Some(Kind::First),
            2 => Some(Kind::Middle),
            3 => Some(Kind::Last),
            _ => None,
        }
    }
}

/// A parsed chunk header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub compressed: bool,
    pub instance: u64,
    pub msg_id: u32,
    pub index: u32,
    pub encoded_len: u32,
    pub plain_len: u32,
}

/// How many chunks `encoded_len` bytes need when a chunk carries at most
/// `chunk_bytes` (header included).
pub fn chunk_count(encoded_len: usize, chunk_bytes: usize) -> usize {
    let room = chunk_bytes - HEADER_BYTES;
    encoded_len.div_ceil(room).max(1)
}

/// Chunk `index` of `msg` (0-based), header included, each at most
/// `chunk_bytes` long.
pub fn chunk(
    msg: &Encoded,
    instance: u64,
    msg_id: u32,
    index: usize,
    chunk_bytes: usize,
) -> Vec<u8> {
    assert!(chunk_bytes > HEADER_BYTES, "chunk size below the header");
    let room = chunk_bytes - HEADER_BYTES;
    let count = chunk_count(msg.data.len(), chunk_bytes);
    assert!(index < count, "chunk {index} of {count}");
    let kind = match (count, index) {
        (1, _) => Kind::Whole,
        (_, 0) => Kind::First,
        (n, i) if i + 1 == n => Kind::Last,
        _ => Kind::Middle,
    };
    let start = index * room;
    let end = (start + room).min(msg.data.len());
    let mut out = Vec::with_capacity(HEADER_BYTES + end - start);
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind.to_byte());
    out.push(if msg.compressed { FLAG_ZSTD } else { 0 });
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&instance.to_le_bytes());
    out.extend_from_slice(&msg_id.to_le_bytes());
    out.extend_from_slice(&(index as u32).to_le_bytes());
    out.extend_from_slice(&(msg.data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(msg.plain_len as u32).to_le_bytes());
    out.extend_from_slice(&msg.data[start..end]);
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses a chunk header; `Err` says what is wrong with it.
pub fn parse(frame: &[u8]) -> Result<(Header, &[u8]), String> {
    if frame.len() < HEADER_BYTES {
        return Err(format!(
            "{} bytes, shorter than the {HEADER_BYTES}-byte header",
            frame.len()
        ));
    }
    if frame[0..2] != MAGIC {
        return Err("not a warden message (bad magic)".into());
    }
    if frame[2] != FORMAT_VERSION {
        return Err(format!(
            "message format version {}, this build speaks {FORMAT_VERSION}",
            frame[2]
        ));
    }
    let kind = Kind::from_byte(frame[3]).ok_or_else(|| format!("unknown kind {}", frame[3]))?;
    if frame[4] & !FLAG_ZSTD != 0 {
        return Err(format!("unknown flags {:#x}", frame[4]));
    }
    let mut instance = [0u8; 8];
    instance.copy_from_slice(&frame[8..16]);
    let header = Header {
        kind,
        compressed: frame[4] & FLAG_ZSTD != 0,
        instance: u64::from_le_bytes(instance),
        msg_id: u32_at(frame, 16),
        index: u32_at(frame, 20),
        encoded_len: u32_at(frame, 24),
        plain_len: u32_at(frame, 28),
    };
    Ok((header, &frame[HEADER_BYTES..]))
}

/// Who sent a chunk, as CPG names a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub node_id: u32,
    pub pid: u32,
}

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete {
    pub from: Source,
    pub instance: u64,
    pub msg_id: u32,
    pub payload: Encoded,
}

/// What one chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The chunk completed a message.
    Deliver(Complete),
    /// Buffered; more chunks to come.
    Pending,
    /// A chunk of a message whose start this member never saw (it joined,
    /// or a view aborted the message, after the first chunk): expected and
    /// harmless, since no member of the current view delivers it.
    Stray,
    /// Malformed or over the limits. Every receiver judges a chunk by the
    /// same rules, so all discard the same message.
    Discard { from: Source, reason: String },
    /// Holding this chunk would go over `max_reassembly_bytes`.
    Overflow { buffered: usize, limit: usize },
}

struct Partial {
    instance: u64,
    msg_id: u32,
    next_index: u32,
    compressed: bool,
    encoded_len: usize,
    plain_len: usize,
    data: Vec<u8>,
}

/// Per-sender reassembly of chunked messages.
pub struct Reassembler {
    limits: Limits,
    partial: BTreeMap<Source, Partial>,
    buffered: usize,
}

/// A partial message dropped by a view change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aborted {
    pub from: Source,
    pub instance: u64,
    pub msg_id: u32,
}

impl Reassembler {
    pub fn new(limits: Limits) -> Reassembler {
        Reassembler {
            limits,
            partial: BTreeMap::new(),
            buffered: 0,
        }
    }

    /// Bytes currently held for partial messages.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    fn drop_partial(&mut self, from: Source) -> Option<Partial> {
        let p = self.partial.remove(&from)?;
        self.buffered -= p.data.capacity();
        Some(p)
    }

    /// Handles one delivered CPG message.
    pub fn push(&mut self, from: Source, frame: &[u8]) -> Step {
        let (h, body) = match parse(frame) {
            Ok(x) => x,
            Err(reason) => {
                // A broken chunk in the middle of a message ends it too.
                self.drop_partial(from);
                return Step::Discard { from, reason };
            }
        };
        let encoded_len = h.encoded_len as usize;
        let plain_len = h.plain_len as usize;
        let max = self.limits.max_message_bytes;
        let over =
            |what: &str, n: usize| format!("announces {n} {what} bytes, over the limit of {max}");
        if plain_len > max {
            self.drop_partial(from);
            return Step::Discard {
                from,
                reason: over("plain", plain_len),
            };
        }
        if encoded_len > max {
            self.drop_partial(from);
            return Step::Discard {
                from,
                reason: over("encoded", encoded_len),
            };
        }
        if !h.compressed && encoded_len != plain_len {
            self.drop_partial(from);
            return Step::Discard {
                from,
                reason: format!(
                    "uncompressed but encoded length {encoded_len} differs from plain length {plain_len}"
                ),
            };
        }
        match h.kind {
            Kind::Whole => {
                // A sender finishes one message before it starts the next:
                // an unfinished one from it can never complete.
                self.drop_partial(from);
                if h.index != 0 || body.len() != encoded_len {
                    return Step::Discard {
                        from,
                        reason: format!(
                            "single chunk carries {} bytes, announces {encoded_len}",
                            body.len()
                        ),
                    };
                }
                Step::Deliver(Complete {
                    from,
                    instance: h.instance,
                    msg_id: h.msg_id,
                    payload: Encoded {
                        compressed: h.compressed,
                        plain_len,
                        data: body.to_vec(),
                    },
                })
            }
            Kind::First => {
                self.drop_partial(from);
                if h.index != 0 || body.len() >= encoded_len {
                    return Step::Discard {
                        from,
                        reason: format!(
                            "first chunk (index {}) carries {} of {encoded_len} bytes",
                            h.index,
                            body.len()
                        ),
                    };
                }
                if self.buffered + encoded_len > self.limits.max_reassembly_bytes {
                    return Step::Overflow {
                        buffered: self.buffered + encoded_len,
                        limit: self.limits.max_reassembly_bytes,
                    };
                }
                let mut data = Vec::with_capacity(encoded_len);
                data.extend_from_slice(body);
                self.buffered += data.capacity();
                self.partial.insert(
                    from,
                    Partial {
                        instance: h.instance,
                        msg_id: h.msg_id,
                        next_index: 1,
                        compressed: h.compressed,
                        encoded_len,
                        plain_len,
                        data,
                    },
                );
                Step::Pending
            }
            Kind::Middle | Kind::Last => {
                let Some(p) = self.partial.get_mut(&from) else {
                    return Step::Stray;
                };
                if p.instance != h.instance || p.msg_id != h.msg_id {
                    // The rest of a message this member never saw the start
                    // of, while another is open: the open one is broken.
                    let reason = format!(
                        "chunk of message {} while message {} is incomplete",
                        h.msg_id, p.msg_id
                    );
                    self.drop_partial(from);
                    return Step::Discard { from, reason };
                }
                let fits = p.data.len() + body.len();
                let bad = if h.index != p.next_index {
                    Some(format!(
                        "chunk {} where {} was expected",
                        h.index, p.next_index
                    ))
                } else if h.compressed != p.compressed
                    || encoded_len != p.encoded_len
                    || plain_len != p.plain_len
                {
                    Some("chunk header disagrees with the first chunk".to_string())
                } else if fits > p.encoded_len || (h.kind == Kind::Last) != (fits == p.encoded_len)
                {
                    Some(format!(
                        "chunks add up to {fits} bytes of an announced {}",
                        p.encoded_len
                    ))
                } else {
                    None
                };
                if let Some(reason) = bad {
                    self.drop_partial(from);
                    return Step::Discard { from, reason };
                }
                p.data.extend_from_slice(body);
                p.next_index += 1;
                if h.kind == Kind::Middle {
                    return Step::Pending;
                }
                let p = self.drop_partial(from).expect("partial present");
                Step::Deliver(Complete {
                    from,
                    instance: p.instance,
                    msg_id: p.msg_id,
                    payload: Encoded {
                        compressed: p.compressed,
                        plain_len: p.plain_len,
                        data: p.data,
                    },
                })
            }
        }
    }

    /// A view change: every partial message is dropped (see the module
    /// header); returns them, in sender order.
    pub fn view_changed(&mut self) -> Vec<Aborted> {
        let aborted = std::mem::take(&mut self.partial)
            .into_iter()
            .map(|(from, p)| Aborted {
                from,
                instance: p.instance,
                msg_id: p.msg_id,
            })
            .collect();
        self.buffered = 0;
        aborted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Source = Source {
        node_id: 1,
        pid: 10,
    };
    const B: Source = Source {
        node_id: 2,
        pid: 20,
    };
    const SMALL_CHUNK: usize = HEADER_BYTES + 10;

    fn plain(data: &[u8]) -> Encoded {
        Encoded {
            compressed: false,
            plain_len: data.len(),
            data: data.to_vec(),
        }
    }

    fn chunks(msg: &Encoded, id: u32) -> Vec<Vec<u8>> {
        (0..chunk_count(msg.data.len(), SMALL_CHUNK))
            .map(|i| chunk(msg, 7, id, i, SMALL_CHUNK))
            .collect()
    }

    fn limits() -> Limits {
        Limits {
            max_message_bytes: 100,
            max_reassembly_bytes: 150,
        }
    }

    fn delivered(step: Step) -> Vec<u8> {
        match step {
            Step::Deliver(c) => c.payload.decode().unwrap(),
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    #[test]
    fn chunks_stay_within_the_size_and_cover_the_payload_once() {
        let data: Vec<u8> = (0..=255).collect();
        let msg = plain(&data);
        let cs = chunks(&msg, 1);
        assert_eq!(cs.len(), 26, "256 bytes at 10 per chunk");
        assert!(cs.iter().all(|c| c.len() <= SMALL_CHUNK));
        let kinds: Vec<Kind> = cs.iter().map(|c| parse(c).unwrap().0.kind).collect();
        assert_eq!(kinds[0], Kind::First);
        assert_eq!(kinds[25], Kind::Last);
        assert!(kinds[1..25].iter().all(|k| *k == Kind::Middle));
        let joined: Vec<u8> = cs.iter().flat_map(|c| c[HEADER_BYTES..].to_vec()).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn an_empty_message_is_one_whole_chunk() {
        let cs = chunks(&plain(b""), 3);
        assert_eq!(cs.len(), 1);
        let mut r = Reassembler::new(limits());
        assert_eq!(delivered(r.push(A, &cs[0])), b"");
    }

    #[test]
    fn interleaved_senders_are_reassembled_each_in_order() {
        let a = plain(b"aaaaaaaaaaaaaaaaaaaaaaaaa");
        let b = plain(b"bbbbbbbbbbbbbbbbbbbbbb");
        let (ca, cb) = (chunks(&a, 1), chunks(&b, 1));
        let mut r = Reassembler::new(limits());
        let mut out = Vec::new();
        for i in 0..3 {
            for (src, cs) in [(A, &ca), (B, &cb)] {
                if let Step::Deliver(c) = r.push(src, &cs[i]) {
                    out.push((c.from, c.payload.decode().unwrap()));
                }
            }
        }
        assert_eq!(out, vec![(A, a.data), (B, b.data)]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn a_view_change_aborts_partial_messages_and_their_rest_is_stray() {
        let cs = chunks(&plain(b"0123456789abcdefghij0123"), 5);
        let mut r = Reassembler::new(limits());
        assert_eq!(r.push(A, &cs[0]), Step::Pending);
        assert_eq!(
            r.view_changed(),
            vec![Aborted {
                from: A,
                instance: 7,
                msg_id: 5
            }]
        );
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.push(A, &cs[1]), Step::Stray);
        assert_eq!(r.push(A, &cs[2]), Step::Stray);
        // The resend after the view is delivered.
        let again = chunks(&plain(b"0123456789abcdefghij0123"), 6);
        assert_eq!(r.push(A, &again[0]), Step::Pending);
        assert_eq!(r.push(A, &again[1]), Step::Pending);
        assert_eq!(delivered(r.push(A, &again[2])), b"0123456789abcdefghij0123");
    }

    #[test]
    fn a_member_that_missed_the_first_chunk_never_delivers() {
        let cs = chunks(&plain(b"0123456789abcdefghij"), 5);
        let mut r = Reassembler::new(limits());
        assert_eq!(r.push(A, &cs[1]), Step::Stray);
    }

    #[test]
    fn receivers_refuse_what_is_over_the_limits() {
        let mut r = Reassembler::new(limits());
        let big = chunk(&plain(&[1u8; 101]), 7, 1, 0, 200);
        match r.push(A, &big) {
            Step::Discard { from, reason } => {
                assert_eq!(from, A);
                assert_eq!(reason, "announces 101 plain bytes, over the limit of 100");
            }
            other => panic!("{other:?}"),
        }
        // Two partial messages of 100 bytes would hold 200 > 150.
        let m = plain(&[2u8; 100]);
        assert_eq!(r.push(A, &chunks(&m, 1)[0]), Step::Pending);
        assert_eq!(
            r.push(B, &chunks(&m, 1)[0]),
            Step::Overflow {
                buffered: 200,
                limit: 150
            }
        );
    }

    #[test]
    fn malformed_chunks_are_discarded_with_a_reason() {
        let mut r = Reassembler::new(limits());
        let cs = chunks(&plain(b"0123456789abcdefghij01"), 5);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                b"short".to_vec(),
                "5 bytes, shorter than the 32-byte header",
            ),
            (
                [b"XX".as_slice(), &cs[0][2..]].concat(),
                "not a warden message (bad magic)",
            ),
            (
                {
                    let mut c = cs[0].clone();
                    c[2] = 9;
                    c
                },
                "message format version 9, this build speaks 1",
            ),
        ];
        for (frame, want) in cases {
            match r.push(A, &frame) {
                Step::Discard { reason, .. } => assert_eq!(reason, want),
                other => panic!("{other:?}"),
            }
        }
        // Skipping a chunk ends the message.
        assert_eq!(r.push(A, &cs[0]), Step::Pending);
        match r.push(A, &cs[2]) {
            Step::Discard { reason, .. } => assert_eq!(reason, "chunk 2 where 1 was expected"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn compression_round_trips_and_is_bounded_by_the_announced_length() {
        let xml = "<primitive id=\"r\" class=\"ocf\"/>\n"
            .repeat(1000)
            .into_bytes();
        let e = Encoded::new(xml.clone());
        assert!(
            e.compressed && e.data.len() < xml.len() / 10,
            "{}",
            e.data.len()
        );
        assert_eq!(e.clone().decode().unwrap(), xml);
        let lying = Encoded {
            plain_len: 100,
            ..e
        };
        assert!(lying.decode().is_err(), "more output than announced");
        // Incompressible or small payloads are sent as they are.
        assert!(!Encoded::new(b"{\"small\":1}".to_vec()).compressed);
    }

    proptest::proptest! {
        #[test]
        fn any_payload_survives_chunking(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            size in (HEADER_BYTES + 1)..(HEADER_BYTES + 64),
        ) {
            let msg = plain(&data);
            let mut r = Reassembler::new(Limits { max_message_bytes: 400, max_reassembly_bytes: 400 });
            let n = chunk_count(data.len(), size);
            let mut got = None;
            for i in 0..n {
                let c = chunk(&msg, 1, 9, i, size);
                proptest::prop_assert!(c.len() <= size);
                match r.push(A, &c) {
                    Step::Deliver(c) => { proptest::prop_assert_eq!(i, n - 1); got = Some(c.payload.data) }
                    Step::Pending => proptest::prop_assert!(i + 1 < n),
                    other => proptest::prop_assert!(false, "{:?}", other),
                }
            }
            proptest::prop_assert_eq!(got, Some(data));
        }
    }
}
