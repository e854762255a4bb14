import { describe, expect, it } from 'vitest';
import { decodeRecord, RECORD_SIZE, recordKindName } from '../../../../../agent/sensors/ebpf/records.js';

/** A record laid out as agent/bpf/tripline.h does, header filled. */
function record(kind: number, size: number): { buf: Buffer; view: DataView } {
  const buf = Buffer.alloc(size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setBigUint64(0, 123_456_789n, true);
  view.setBigUint64(8, 4242n, true);
  view.setUint32(16, kind, true);
  view.setUint32(20, 100, true);
  view.setUint32(24, 1, true);
  view.setUint32(28, 1000, true);
  buf.write('nginx\0', 32, 'latin1');
  return { buf, view };
}

function arrayBuffer(buf: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function decode(buf: Buffer) {
  const ab = arrayBuffer(buf);
  return decodeRecord(ab, 0, ab.byteLength);
}

describe('decodeRecord', () => {
  it('decodes an exec with its header, filename and NUL-separated argv packed after it', () => {
    const filename = '/usr/sbin/nginx\0';
    const args = 'nginx\0-g\0daemon off;\0';
    const { buf, view } = record(1, 64 + filename.length + args.length);
    view.setUint32(48, 0x1, true); // argv truncated
    view.setUint32(52, 3, true);
    view.setUint32(56, args.length, true);
    view.setUint32(60, filename.length, true);
    buf.write(filename + args, 64, 'latin1');
    const out = decode(buf);
    expect(out).toEqual({
      ok: true,
      record: {
        kind: 'exec',
        hdr: { monoNs: 123_456_789n, cgroupId: 4242, pid: 100, ppid: 1, uid: 1000, comm: 'nginx' },
        filename: '/usr/sbin/nginx',
        argv: ['nginx', '-g', 'daemon off;'],
        argvTruncated: true,
        argvMissing: false,
      },
    });
  });

  it('keeps argv within the captured length even if the count says more', () => {
    const { buf, view } = record(1, 64 + 3 + 9);
    view.setUint32(52, 5, true);
    view.setUint32(56, 4, true);
    view.setUint32(60, 3, true);
    buf.write('/x\0ab\0cd\0ef\0', 64, 'latin1');
    const out = decode(buf);
    expect(out.ok && out.record.kind === 'exec' && out.record.argv).toEqual(['ab', 'c']);
  });

  it('reports an exec whose lengths overrun the record', () => {
    const { buf, view } = record(1, 80);
    view.setUint32(56, 10, true);
    view.setUint32(60, 10, true);
    expect(decode(buf)).toEqual({
      ok: false,
      error: 'exec record of 80 bytes cannot hold 10 filename and 10 argv bytes',
    });
  });

  it('decodes a syscall record', () => {
    const { buf, view } = record(2, RECORD_SIZE.syscall);
    view.setUint32(48, 257, true);
    const out = decode(buf);
    expect(out.ok && out.record).toMatchObject({ kind: 'syscall', nr: 257, hdr: { cgroupId: 4242 } });
  });

  it('decodes a rename with both paths packed after the fixed part, dirfds and the truncation flag', () => {
    const paths = 'new.conf\0/etc/old.conf\0';
    const { buf, view } = record(3, 72 + paths.length);
    view.setUint32(48, 2, true);
    view.setUint32(52, 1, true);
    view.setInt32(56, -100, true);
    view.setInt32(60, 7, true);
    view.setUint32(64, 1, true);
    view.setUint16(68, 9, true);
    view.setUint16(70, 14, true);
    buf.write(paths, 72, 'latin1');
    const out = decode(buf);
    expect(out.ok && out.record).toMatchObject({
      kind: 'file',
      op: 'rename',
      flags: 1,
      dirfd: -100,
      oldDirfd: 7,
      truncated: true,
      path: 'new.conf',
      oldPath: '/etc/old.conf',
    });
  });

  it('decodes an open with no rename source', () => {
    const { buf, view } = record(3, 72 + 11);
    view.setUint32(48, 1, true);
    view.setUint32(52, 0o1101, true);
    view.setUint16(68, 11, true);
    buf.write('/tmp/x.log\0', 72, 'latin1');
    const out = decode(buf);
    expect(out.ok && out.record).toMatchObject({ op: 'open-write', path: '/tmp/x.log', oldPath: '', truncated: false });
  });

  it('decodes IPv4 and IPv6 socket records', () => {
    const v4 = record(4, RECORD_SIZE.listen);
    v4.view.setUint16(48, 2, true);
    v4.view.setUint16(50, 8080, true);
    v4.view.setUint8(52, 6);
    Buffer.from([10, 0, 0, 7]).copy(v4.buf, 56);
    v4.view.setBigUint64(72, 98765n, true);
    expect(decode(v4.buf)).toMatchObject({
      ok: true,
      record: { kind: 'listen', protocol: 'tcp', ip: '10.0.0.7', port: 8080 },
    });

    const v6 = record(5, RECORD_SIZE.connect);
    v6.view.setUint16(48, 10, true);
    v6.view.setUint16(50, 53, true);
    v6.view.setUint8(52, 17);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(v6.buf, 56);
    v6.view.setBigUint64(80, 4026531840n, true);
    expect(decode(v6.buf)).toMatchObject({
      ok: true,
      record: { kind: 'connect', protocol: 'udp', ip: '2001:db8::1', port: 53, netns: 4026531840 },
    });
  });

  it('decodes a DNS answer: payload of the stated length, cut flag, network namespace', () => {
    const payload = Buffer.from('abcd81800001000100000000', 'hex');
    const r = record(6, RECORD_SIZE.dns + payload.length + 3); // ring records are padded
    r.view.setUint32(48, payload.length, true);
    r.view.setUint32(52, 1, true);
    r.view.setBigUint64(56, 12n, true);
    payload.copy(r.buf, 64);
    const out = decode(r.buf);
    expect(out).toMatchObject({ ok: true, record: { kind: 'dns', cut: true, netns: 12, hdr: { cgroupId: 4242 } } });
    expect(out.ok && out.record.kind === 'dns' && Buffer.from(out.record.payload)).toEqual(payload);

    const overrun = record(6, RECORD_SIZE.dns + 4);
    overrun.view.setUint32(48, 5, true);
    expect(decode(overrun.buf)).toEqual({ ok: false, error: 'dns record of 68 bytes cannot hold 5 payload bytes' });
    const tooLong = record(6, RECORD_SIZE.dns + 2000);
    tooLong.view.setUint32(48, 1233, true);
    expect(decode(tooLong.buf)).toEqual({
      ok: false,
      error: 'dns record of 2064 bytes cannot hold 1233 payload bytes',
    });
    expect(decode(record(6, 60).buf)).toEqual({ ok: false, error: 'dns record of 60 bytes, expected 64' });
  });

  it('reports short, unknown and malformed records instead of throwing', () => {
    expect(decode(Buffer.alloc(10))).toEqual({ ok: false, error: 'record of 10 bytes is shorter than its header' });
    expect(decode(record(9, 64).buf)).toEqual({ ok: false, error: 'unknown record kind 9' });
    expect(decode(record(1, 60).buf)).toEqual({ ok: false, error: 'exec record of 60 bytes, expected 64' });
    const overrun = record(3, 80);
    overrun.view.setUint32(48, 1, true);
    overrun.view.setUint16(68, 20, true);
    expect(decode(overrun.buf)).toEqual({
      ok: false,
      error: 'file record of 80 bytes cannot hold paths of 20 and 0 bytes',
    });
    const badOp = record(3, RECORD_SIZE.file);
    badOp.view.setUint32(48, 99, true);
    expect(decode(badOp.buf)).toEqual({ ok: false, error: 'file record with unknown op 99' });
    const badProto = record(5, RECORD_SIZE.connect);
    badProto.view.setUint8(52, 132);
    expect(decode(badProto.buf)).toEqual({ ok: false, error: 'connect record with unknown protocol 132' });
  });

  it('names the kind a record claims, for attributing decode failures', () => {
    const { buf } = record(3, 60);
    const ab = arrayBuffer(buf);
    expect(recordKindName(ab, 0, ab.byteLength)).toBe('file');
    expect(recordKindName(ab, 0, 8)).toBeUndefined();
  });
});
