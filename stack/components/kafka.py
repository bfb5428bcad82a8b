"""Kafka: one KRaft node (broker and controller) from the cached jars, and its topics."""

from __future__ import annotations

from shared.topics import RETENTION_MS, all_topics
from stack.bootstrap import Tools
from stack.components.probes import tcp_ok
from stack.config import ROOT, StackConfig
from stack.procs import Supervisor
from stack.steps import run_step

NAME = "kafka"
RESOURCES = ROOT / "stack" / "kafka"  # pom.xml (the jars), log4j2, CreateTopics.java


class Kafka:
    def __init__(self, config: StackConfig, tools: Tools, sup: Supervisor) -> None:
        self.config = config
        self.tools = tools
        self.sup = sup

    def _java(self, *args: str, heap: str = "-Xmx768m") -> list[str]:
        return [
            self.tools.java,
            heap,
            # Parallel rather than G1: on two shared cores G1's concurrent threads
            # cost more CPU than the short pauses of a small young generation.
            "-XX:+UseParallelGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={RESOURCES / 'log4j2.properties'}",
            "-cp",
            f"{self.tools.kafka_lib}/*",
            *args,
        ]

    def _properties(self) -> str:
        ports = self.config.ports
        data = self.config.data / "kafka"
        return (
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{ports['kafka-controller']}",
                    f"listeners=PLAINTEXT://127.0.0.1:{ports['kafka']},"
                    f"CONTROLLER://127.0.0.1:{ports['kafka-controller']}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports['kafka']},"
                    f"CONTROLLER://127.0.0.1:{ports['kafka-controller']}",
                    "inter.broker.listener.name=PLAINTEXT",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=1",
                    # Every topic is created on purpose (shared/topics.py); a typo fails loudly.
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.retention.hours=168",
                    # One broker on a developer's machine: fewer threads contending
                    # for the same cores (Kafka's defaults, 3 and 8, are for servers).
                    "num.network.threads=2",
                    "num.io.threads=2",
                ]
            )
            + "\n"
        )

    def start(self) -> None:
        data = self.config.data / "kafka"
        data.mkdir(parents=True, exist_ok=True)
        props = self.config.run_dir / "kafka.properties"
        props.write_text(self._properties())
        if not (data / "meta.properties").exists():
            cluster_id = run_step(
                "kafka id",
                self._java("kafka.tools.StorageTool", "random-uuid", heap="-Xmx256m"),
                echo=False,
            ).strip()
            run_step(
                "kafka format",
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id.splitlines()[-1],
                    "-c",
                    str(props),
                    "--standalone",
                    heap="-Xmx256m",
                ),
                echo=False,
            )
        self.sup.start(NAME, self._java("kafka.Kafka", str(props)))

    def ready(self) -> bool:
        return tcp_ok(self.config.ports["kafka"])

    def create_topics(self) -> None:
        topics = all_topics()
        specs = [
            f"{name}:{n}" + (f":{RETENTION_MS[name]}" if name in RETENTION_MS else "")
            for name, n in topics.items()
        ]
        out = run_step(
            "kafka topics",
            self._java(
                str(RESOURCES / "CreateTopics.java"),
                self.config.kafka_bootstrap,
                *specs,
                heap="-Xmx256m",
            ),
            echo=False,
        )
        self.sup.say(NAME, out.strip().splitlines()[-1])
