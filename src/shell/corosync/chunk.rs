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

/// A chunked message aborted by this many view changes in a row is given
/// up (the caller then reports the transport lost).
pub const MAX_RESENDS: u32 = 100;

struct Inflight {
    msg: Encoded,
    msg_id: u32,
    next_chunk: usize,
    chunks: usize,
    resends: u32,
}

/// The sending side: one message at a time, cut into chunks, sent again
/// when a view change aborts it (see the module header).
///
/// A single-chunk message is done once corosync took it (CPG delivers it
/// whole or not at all). A chunked one is done only when it comes back
/// complete in this process's own ordered stream, since until then a view
/// change may still abort it; the next message waits, so a sender's
/// messages stay in order.
pub struct Outbox {
    instance: u64,
    chunk_bytes: usize,
    next_msg_id: u32,
    inflight: Option<Inflight>,
}

impl Outbox {
    pub fn new(instance: u64, chunk_bytes: usize) -> Outbox {
        assert!(chunk_bytes > HEADER_BYTES, "chunk size below the header");
        Outbox {
            instance,
            chunk_bytes,
            next_msg_id: 0,
            inflight: None,
        }
    }

    /// No message in flight: the next one may start.
    pub fn is_idle(&self) -> bool {
        self.inflight.is_none()
    }

    fn fresh_id(&mut self) -> u32 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        id
    }

    pub fn start(&mut self, msg: Encoded) {
        assert!(self.is_idle(), "one message at a time");
        let chunks = chunk_count(msg.data.len(), self.chunk_bytes);
        let msg_id = self.fresh_id();
        self.inflight = Some(Inflight {
            msg,
            msg_id,
            next_chunk: 0,
            chunks,
            resends: 0,
        });
    }

    /// Whether a chunk waits to be handed to corosync.
    pub fn next_chunk_ready(&self) -> bool {
        self.inflight
            .as_ref()
            .is_some_and(|f| f.next_chunk < f.chunks)
    }

    /// The chunk to hand to corosync now, if any.
    pub fn next_chunk(&self) -> Option<Vec<u8>> {
        let f = self.inflight.as_ref()?;
        (f.next_chunk < f.chunks).then(|| {
            chunk(
                &f.msg,
                self.instance,
                f.msg_id,
                f.next_chunk,
                self.chunk_bytes,
            )
        })
    }

    /// corosync took the chunk `next_chunk` returned.
    pub fn sent(&mut self) {
        let f = self.inflight.as_mut().expect("a chunk was in flight");
        f.next_chunk += 1;
        if f.chunks == 1 {
            self.inflight = None;
        }
    }

    /// A message came back complete; finishes ours if it is ours.
    pub fn delivered(&mut self, c: &Complete) {
        if c.instance == self.instance
            && self.inflight.as_ref().is_some_and(|f| f.msg_id == c.msg_id)
        {
            self.inflight = None;
        }
    }

    /// A view change aborted these partial messages; ours starts over under
    /// a new id. `Err` when it was aborted too often.
    pub fn aborted(&mut self, aborted: &[Aborted]) -> Result<(), String> {
        let instance = self.instance;
        let hit = aborted.iter().any(|a| {
            a.instance == instance && self.inflight.as_ref().is_some_and(|f| f.msg_id == a.msg_id)
        });
        if !hit {
            return Ok(());
        }
        let new_id = self.fresh_id();
        let f = self.inflight.as_mut().expect("checked above");
        f.resends += 1;
        if f.resends > MAX_RESENDS {
            return Err(format!(
                "a {}-byte message was cut by {MAX_RESENDS} view changes in a row",
                f.msg.plain_len
            ));
        }
        f.next_chunk = 0;
        f.msg_id = new_id;
        Ok(())
    }

    /// Times the message in flight was sent again.
    pub fn resends(&self) -> u32 {
        self.inflight.as_ref().map_or(0, |f| f.resends)
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

    /// One ordered stream as every member sees it.
    enum Ev {
        Chunk(Source, Vec<u8>),
        View,
    }

    /// Feeds `stream` to a member and returns what it delivered.
    fn member(stream: &[Ev]) -> Vec<Vec<u8>> {
        let mut r = Reassembler::new(limits());
        let mut out = Vec::new();
        for ev in stream {
            match ev {
                Ev::Chunk(src, c) => {
                    if let Step::Deliver(c) = r.push(*src, c) {
                        out.push(c.payload.data);
                    }
                }
                Ev::View => {
                    r.view_changed();
                }
            }
        }
        out
    }

    #[test]
    fn a_message_cut_by_a_view_is_sent_again_and_delivered_once_everywhere() {
        let data = b"0123456789abcdefghij0123456789".to_vec();
        let mut outbox = Outbox::new(7, SMALL_CHUNK);
        let mut sender = Reassembler::new(limits());
        outbox.start(plain(&data));
        let mut stream = Vec::new();
        // Two of three chunks go out and are ordered before a view change.
        for _ in 0..2 {
            stream.push(Ev::Chunk(A, outbox.next_chunk().unwrap()));
            outbox.sent();
        }
        stream.push(Ev::View);
        // The sender sees its own chunks and the view in the same order.
        for ev in &stream {
            match ev {
                Ev::Chunk(src, c) => assert_eq!(sender.push(*src, c), Step::Pending),
                Ev::View => outbox.aborted(&sender.view_changed()).unwrap(),
            }
        }
        assert!(!outbox.is_idle());
        assert_eq!(outbox.resends(), 1);
        // It starts over; the last chunk of the first try was already on its
        // way and lands after the view: a stray everywhere.
        stream.push(Ev::Chunk(A, {
            let mut old = outbox.next_chunk().unwrap();
            old[16] = 0; // the first try's id
            old[20] = 2; // its last chunk
            old[3] = 3;
            old
        }));
        while let Some(c) = outbox.next_chunk() {
            stream.push(Ev::Chunk(A, c.clone()));
            outbox.sent();
            if let Step::Deliver(done) = sender.push(A, &c) {
                outbox.delivered(&done);
            }
        }
        assert!(outbox.is_idle(), "done once it came back whole");
        // An old member and a member that joined at the view: both deliver
        // the message exactly once.
        assert_eq!(member(&stream), vec![data.clone()]);
        let joined_at_view = stream.split_off(3);
        assert_eq!(member(&joined_at_view), vec![data]);
    }

    #[test]
    fn a_view_before_the_first_chunk_does_not_cut_the_message() {
        let mut outbox = Outbox::new(7, SMALL_CHUNK);
        let mut r = Reassembler::new(limits());
        outbox.start(plain(b"0123456789abcdefghij"));
        let first = outbox.next_chunk().unwrap();
        outbox.sent();
        // The view is ordered before our first chunk: nothing to abort.
        outbox.aborted(&r.view_changed()).unwrap();
        assert_eq!(outbox.resends(), 0);
        assert_eq!(r.push(A, &first), Step::Pending);
        let last = outbox.next_chunk().unwrap();
        outbox.sent();
        let Step::Deliver(done) = r.push(A, &last) else {
            panic!("complete")
        };
        outbox.delivered(&done);
        assert!(outbox.is_idle());
        // Another instance's message with the same id does not finish ours.
        let mut other = Outbox::new(8, SMALL_CHUNK);
        other.start(plain(b"0123456789abcdefghij"));
        other.delivered(&done);
        assert!(!other.is_idle());
    }

    #[test]
    fn a_single_chunk_is_done_when_corosync_takes_it_and_endless_cuts_give_up() {
        let mut outbox = Outbox::new(7, SMALL_CHUNK);
        outbox.start(plain(b"short"));
        assert!(outbox.next_chunk().is_some());
        outbox.sent();
        assert!(outbox.is_idle());
        assert_eq!(outbox.next_chunk(), None);

        outbox.start(plain(b"0123456789abcdefghij"));
        let mut r = Reassembler::new(limits());
        let mut result = Ok(());
        for _ in 0..=MAX_RESENDS {
            r.push(A, &outbox.next_chunk().unwrap());
            outbox.sent();
            result = outbox.aborted(&r.view_changed());
        }
        assert_eq!(
            result,
            Err("a 20-byte message was cut by 100 view changes in a row".into())
        );
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
