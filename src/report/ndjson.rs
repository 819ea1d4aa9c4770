//! `--format ndjson`: one [`Event`] per line, written as the comparison streams.

use std::io::{self, Write};

use crate::model::Event;

/// Writes events as newline-delimited JSON. Unfiltered: consumers get everything and filter
/// themselves. The caller flushes ([`NdjsonWriter::flush`]) whenever no event is waiting, so that a
/// consumer reading a pipe sees every event as soon as it happens, while a burst of events (a million
/// files' differences) is written in large blocks instead of one write each: written one by one they
/// fell behind the comparison and piled up in memory.
pub struct NdjsonWriter<W: Write> {
    out: W,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> Self {
        NdjsonWriter { out }
    }

    pub fn write_event(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{Aspect, ContextId};
    use crate::report::fixtures::*;

    #[test]
    fn one_event_per_line_each_a_complete_json_object() {
        let report = report_skeleton();
        let mut writer = NdjsonWriter::new(Vec::new());
        writer
            .write_event(&Event::Context(Box::new(report.contexts[3].clone())))
            .unwrap();
        let mut difference = content_difference(LAYER0, "etc/a\nb", &hex_of('1'), &hex_of('2'));
        difference
            .deltas_mut()
            .push(delta(Aspect::Mode, "mode", json!(0o644), json!(0o600)));
        writer.write_event(&Event::Difference(difference)).unwrap();
        writer
            .write_event(&Event::Warning {
                context: Some(ContextId(3)),
                message: "w".into(),
            })
            .unwrap();
        writer.write_event(&Event::Finished).unwrap();
        let text = String::from_utf8(writer.into_inner()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            4,
            "a newline inside a name must not split a record: {text}"
        );
        assert_eq!(lines[0]["event"], "context");
        assert_eq!(lines[0]["path"], "/manifests-0/layers-0");
        assert_eq!(lines[1]["event"], "difference");
        assert_eq!(lines[1]["key"], "etc/a\nb");
        assert_eq!(lines[1]["deltas"][1]["field"], "mode");
        assert_eq!(
            lines[2],
            json!({"event": "warning", "context": 3, "message": "w"})
        );
        assert_eq!(lines[3], json!({"event": "finished"}));
    }

    /// A writer that records how often it was flushed.
    struct CountingFlushes(usize);

    impl Write for CountingFlushes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn events_are_flushed_when_the_caller_says_not_one_by_one() {
        let mut writer = NdjsonWriter::new(CountingFlushes(0));
        for _ in 0..3 {
            writer.write_event(&Event::Finished).unwrap();
        }
        assert_eq!(writer.out.0, 0);
        writer.flush().unwrap();
        assert_eq!(writer.into_inner().0, 1);
    }
}
