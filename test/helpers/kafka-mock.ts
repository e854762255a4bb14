/**
 * librdkafka's mock Kafka cluster (Debian librdkafka1), driven through koffi: real Kafka
 * protocol brokers on loopback, run by librdkafka threads inside the test process. The
 * mock has no CreateTopics API, so topics are created here before clients connect.
 */
import koffi from 'koffi';

const LIBRDKAFKA = 'librdkafka.so.1';
const RD_KAFKA_PRODUCER = 0;

interface Librdkafka {
  conf_new(): unknown;
  conf_set(conf: unknown, name: string, value: string, errstr: Buffer, size: number): number;
  new_(type: number, conf: unknown, errstr: Buffer, size: number): unknown;
  destroy(rk: unknown): void;
  mock_cluster_new(rk: unknown, brokers: number): unknown;
  mock_cluster_destroy(mc: unknown): void;
  mock_cluster_bootstraps(mc: unknown): string;
  mock_topic_create(mc: unknown, topic: string, partitions: number, replication: number): number;
  mock_push_request_errors_array(mc: unknown, apiKey: number, cnt: number, errors: number[]): void;
  err2str(err: number): string;
}

let lib: Librdkafka | undefined;

function librdkafka(): Librdkafka {
  if (lib) return lib;
  const so = koffi.load(LIBRDKAFKA);
  lib = {
    conf_new: so.func('void *rd_kafka_conf_new(void)'),
    conf_set: so.func(
      'int rd_kafka_conf_set(void *conf, const char *name, const char *value, void *errstr, size_t size)',
    ),
    new_: so.func('void *rd_kafka_new(int type, void *conf, void *errstr, size_t size)'),
    destroy: so.func('void rd_kafka_destroy(void *rk)'),
    mock_cluster_new: so.func('void *rd_kafka_mock_cluster_new(void *rk, int broker_cnt)'),
    mock_cluster_destroy: so.func('void rd_kafka_mock_cluster_destroy(void *mcluster)'),
    mock_cluster_bootstraps: so.func('const char *rd_kafka_mock_cluster_bootstraps(void *mcluster)'),
    mock_topic_create: so.func(
      'int rd_kafka_mock_topic_create(void *mcluster, const char *topic, int partition_cnt, int replication_factor)',
    ),
    mock_push_request_errors_array: so.func(
      'void rd_kafka_mock_push_request_errors_array(void *mcluster, int16_t ApiKey, size_t cnt, const int *errors)',
    ),
    err2str: so.func('const char *rd_kafka_err2str(int err)'),
  } as Librdkafka;
  return lib;
}

export interface KafkaMockCluster {
  /** "127.0.0.1:port,…" — the brokers for kafkajs. */
  readonly brokers: string[];
  createTopic(topic: string, partitions: number): void;
  /**
   * The next requests of protocol type `apiKey` (0 = Produce) fail with these Kafka error
   * codes, one per request, in order.
   */
  failRequests(apiKey: number, errors: number[]): void;
  /** Destroys the cluster and the handle that owns it. */
  close(): void;
}

export function startKafkaMock(opts: { brokers?: number; topics?: Record<string, number> } = {}): KafkaMockCluster {
  const k = librdkafka();
  const errstr = Buffer.alloc(512);
  const conf = k.conf_new();
  // The handle only hosts the mock; keep its own logging quiet.
  for (const [name, value] of [['log_level', '0']] as const) {
    if (k.conf_set(conf, name, value, errstr, errstr.length) !== 0) {
      throw new Error(`rd_kafka_conf_set ${name}: ${errstr.toString('utf8').replace(/\0.*$/s, '')}`);
    }
  }
  // rd_kafka_new takes ownership of conf, also on success.
  const rk = k.new_(RD_KAFKA_PRODUCER, conf, errstr, errstr.length);
  if (!rk) throw new Error(`rd_kafka_new: ${errstr.toString('utf8').replace(/\0.*$/s, '')}`);
  const mc = k.mock_cluster_new(rk, opts.brokers ?? 1);
  if (!mc) {
    k.destroy(rk);
    throw new Error('rd_kafka_mock_cluster_new failed');
  }
  let closed = false;
  const cluster: KafkaMockCluster = {
    brokers: k.mock_cluster_bootstraps(mc).split(','),
    createTopic(topic, partitions) {
      const err = k.mock_topic_create(mc, topic, partitions, 1);
      if (err !== 0) throw new Error(`rd_kafka_mock_topic_create ${topic}: ${k.err2str(err)}`);
    },
    failRequests(apiKey, errors) {
      k.mock_push_request_errors_array(mc, apiKey, errors.length, errors);
    },
    close() {
      if (closed) return;
      closed = true;
      k.mock_cluster_destroy(mc);
      k.destroy(rk);
    },
  };
  for (const [topic, partitions] of Object.entries(opts.topics ?? {})) cluster.createTopic(topic, partitions);
  return cluster;
}
