/**
 * protobufjs decodes 64-bit fields as Long objects whenever the `long` package is
 * installed (it is, as a dependency of protobufjs). The contract's 64-bit fields (times in
 * ns, cgroup ids, sequence numbers) fit JavaScript numbers closely enough, and converting
 * a Long costs microseconds per field, so decode them as plain numbers.
 */
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
