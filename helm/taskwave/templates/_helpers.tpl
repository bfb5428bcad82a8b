{{/*
Names and labels. Resource names are the Dapr app ids and Dapr component names
themselves: the code addresses them by these names (consumer groups, service
invocation, component names), so one release per namespace.
*/}}

{{- define "taskwave.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object but a function's (those add name and component). */}}
{{- define "taskwave.commonLabels" -}}
helm.sh/chart: {{ include "taskwave.chart" . }}
app.kubernetes.io/part-of: taskwave
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "taskwave.labels" -}}
{{ include "taskwave.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one function; call with (dict "root" $ "app" $app). */}}
{{- define "taskwave.selectorLabels" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Labels of one function's objects. */}}
{{- define "taskwave.functionLabels" -}}
{{ include "taskwave.commonLabels" .root }}
{{ include "taskwave.selectorLabels" . }}
app.kubernetes.io/component: function
{{- end }}

{{- define "taskwave.image" -}}
{{- $img := .root.Values.image -}}
{{ printf "%s/%s/taskwave-%s:%s" $img.registry $img.owner .app (default .root.Chart.AppVersion $img.tag) }}
{{- end }}

{{/* Kafka bootstrap servers for Dapr and KEDA: Strimzi's TLS listener (9093) or its
plaintext one (9092), or the external cluster's. */}}
{{- define "taskwave.kafkaBrokers" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{ printf "%s-kafka-bootstrap.%s.svc:%d" .Values.kafka.strimzi.clusterName .Release.Namespace (ternary 9093 9092 (eq (include "taskwave.kafkaScram" .) "true")) }}
{{- else -}}
{{ required "kafka.external.brokers is required when kafka.mode is external" .Values.kafka.external.brokers }}
{{- end }}
{{- end }}

{{/* External Kafka with SASL (one shared credential from kafka.external.sasl). */}}
{{- define "taskwave.kafkaSasl" -}}
{{- and (eq .Values.kafka.mode "external") .Values.kafka.external.sasl.enabled -}}
{{- end }}

{{/* Strimzi Kafka behind TLS + SCRAM-SHA-512, with a KafkaUser per function. */}}
{{- define "taskwave.kafkaScram" -}}
{{- and (eq .Values.kafka.mode "strimzi") (eq .Values.kafka.strimzi.security "scram-tls") -}}
{{- end }}

{{/* The Secret (key ca.crt) with the CA that signs Strimzi's broker certificates. */}}
{{- define "taskwave.kafkaClusterCa" -}}
{{ printf "%s-cluster-ca-cert" .Values.kafka.strimzi.clusterName }}
{{- end }}

{{/*
The KafkaUser (= SCRAM user name, and the name of the Secret the User Operator writes
its password to) of one app id; "kafka-{appID}" is the same name as Dapr resolves it.
*/}}
{{- define "taskwave.kafkaUser" -}}
{{ printf "kafka-%s" . }}
{{- end }}

{{/* The sidecar's environment variable with its own Kafka password (envRef in the
pub/sub components; dapr.io/env-from-secret on the pod fills it). */}}
{{- define "taskwave.kafkaPasswordEnv" -}}
KAFKA_SASL_PASSWORD
{{- end }}

{{/*
The topics each function publishes to through Dapr (tests/deploy compares them with
the code's publish calls). Its consumed topics, dead-letter topics and consumer group
come from "taskwave.subscriptions"; together they are its KafkaUser's ACLs.
*/}}
{{- define "taskwave.publishes" -}}
todo-api: [task-events, task-updates]
reminders: [reminders, task-updates]
{{- end }}

{{/*
What each function may do on Kafka, derived from the publishes and subscriptions:
  {app: {read: [topics], write: [topics], group: name, groupPattern: literal|prefix}}
A function writes the topics it publishes and the dead-letter topics of its own
subscriptions (its sidecar sends the undeliverable messages there), reads the topics
it subscribes to, in its consumer group: the app id on `pubsub`; on `pubsub-fanout`
(realtime) one group per pod, "<app>-<pod name>", hence a prefix.
*/}}
{{- define "taskwave.kafkaAccess" -}}
{{- $subs := include "taskwave.subscriptions" . | fromYamlArray }}
{{- $pubs := include "taskwave.publishes" . | fromYaml }}
{{- $out := dict }}
{{- range $app, $fn := .Values.functions }}
{{- $read := list }}
{{- $write := get $pubs $app | default list }}
{{- $fanout := false }}
{{- range $subs }}
{{- if eq .app $app }}
{{- $read = append $read .topic }}
{{- if .dlq }}{{ $write = append $write .dlq }}{{ end }}
{{- /* a subscription with rules or in bulk: the app dead-letters its DROPs itself */ -}}
{{- if .ownDlq }}{{ $write = append $write .ownDlq }}{{ end }}
{{- if eq .pubsub "pubsub-fanout" }}{{ $fanout = true }}{{ end }}
{{- end }}
{{- end }}
{{- $access := dict "read" ($read | uniq | sortAlpha) "write" ($write | uniq | sortAlpha) }}
{{- if $read }}
{{- $_ := set $access "group" (ternary (printf "%s-" $app) $app $fanout) }}
{{- $_ := set $access "groupPattern" (ternary "prefix" "literal" $fanout) }}
{{- end }}
{{- $_ := set $out $app $access }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
Every Kafka topic with its partitions, as shared/topics.py defines them (a test
compares): the three topics and their dead-letter topics. Keys are Kubernetes
names; topicName is the Kafka name.
*/}}
{{- define "taskwave.topics" -}}
task-events: {topicName: task-events, partitions: 6, deadLetter: false}
# A transient client feed that a new realtime pod replays from its start: one hour
# (RETENTION_MS).
task-updates: {topicName: task-updates, partitions: 6, deadLetter: false, retentionMs: 3600000}
reminders: {topicName: reminders, partitions: 3, deadLetter: false}
task-events-dlq: {topicName: task-events-dlq, partitions: 1, deadLetter: true}
task-updates-dlq: {topicName: task-updates-dlq, partitions: 1, deadLetter: true}
reminders-dlq: {topicName: reminders-dlq, partitions: 1, deadLetter: true}
{{- end }}

{{/*
The Kafka protocol version Dapr's and KEDA's clients (both sarama) speak. Their
defaults are older than 2.1, which Kafka 4 no longer accepts, so both say it.
*/}}
{{- define "taskwave.kafkaProtocolVersion" -}}
3.0.0
{{- end }}

{{/* Kafka connection metadata shared by the two pub/sub components. */}}
{{- define "taskwave.kafkaMetadata" -}}
- name: brokers
  value: {{ include "taskwave.kafkaBrokers" . | quote }}
- name: clientID
  value: "{appID}"
- name: version
  value: {{ include "taskwave.kafkaProtocolVersion" . | quote }}
{{- if eq (include "taskwave.kafkaScram" .) "true" }}
# Each sidecar signs in as its own app's KafkaUser (kafka-users.yaml): the user name
# is templated by Dapr, the password is the sidecar's environment variable, which the
# injector fills from that KafkaUser's Secret (dapr.io/env-from-secret, deployments.yaml).
# A secretKeyRef here would give every app in the scopes the same credential.
- name: authType
  value: password
- name: saslMechanism
  value: SHA-512
- name: saslUsername
  value: {{ include "taskwave.kafkaUser" "{appID}" | quote }}
- name: saslPassword
  envRef: {{ include "taskwave.kafkaPasswordEnv" . }}
# The brokers' certificates are signed by Strimzi's cluster CA (resolved by the Dapr
# operator from the Secret Strimzi keeps).
- name: caCert
  secretKeyRef:
    name: {{ include "taskwave.kafkaClusterCa" . }}
    key: ca.crt
{{- else if eq (include "taskwave.kafkaSasl" .) "true" }}
- name: authType
  value: password
- name: saslMechanism
  value: {{ .Values.kafka.external.sasl.mechanism | quote }}
- name: saslUsername
  secretKeyRef:
    name: {{ .Values.kafka.external.sasl.existingSecret }}
    key: username
- name: saslPassword
  secretKeyRef:
    name: {{ .Values.kafka.external.sasl.existingSecret }}
    key: password
{{- with .Values.kafka.external.caSecret }}
{{- if .name }}
- name: caCert
  secretKeyRef:
    name: {{ .name }}
    key: {{ .key }}
{{- end }}
{{- end }}
{{- else }}
- name: authType
  value: none
{{- end }}
- name: disableTls
  value: {{ include "taskwave.kafkaTls" . | eq "true" | not | quote }}
{{- end }}

{{- define "taskwave.kafkaTls" -}}
{{- or (eq (include "taskwave.kafkaScram" .) "true") (and (eq .Values.kafka.mode "external") .Values.kafka.external.tls) -}}
{{- end }}

{{/*
A KEDA Kafka trigger on one topic's lag in one consumer group; call with
(dict "root" $ "group" <group> "topic" <topic>). offsetResetPolicy is "earliest"
because Dapr starts a new group at the oldest offset (initialOffset: oldest): a
group that has not committed on a partition yet has all its messages as lag, and
an empty topic none, so a quiet dead-letter topic never keeps a function up.
*/}}
{{- define "taskwave.kafkaTrigger" -}}
- type: kafka
  name: {{ printf "lag-%s" .topic | trunc 63 | trimSuffix "-" }}
  metadata:
    bootstrapServers: {{ include "taskwave.kafkaBrokers" .root | quote }}
    consumerGroup: {{ .group | quote }}
    topic: {{ .topic | quote }}
    lagThreshold: {{ .root.Values.autoscaling.lagThreshold | quote }}
    activationLagThreshold: "0"
    offsetResetPolicy: earliest
    allowIdleConsumers: "false"
    version: {{ include "taskwave.kafkaProtocolVersion" .root | quote }}
    {{- if eq (include "taskwave.kafkaTls" .root) "true" }}
    tls: enable
    {{- end }}
    {{- if eq (include "taskwave.kafkaScram" .root) "true" }}
    sasl: scram_sha512
  authenticationRef:
    name: {{ include "taskwave.kafkaUser" "keda" }}
    {{- else if eq (include "taskwave.kafkaSasl" .root) "true" }}
    {{- $keda := dict "PLAINTEXT" "plaintext" "SHA-256" "scram_sha256" "SHA-512" "scram_sha512" }}
    sasl: {{ get $keda .root.Values.kafka.external.sasl.mechanism | quote }}
  authenticationRef:
    name: kafka-sasl
    {{- end }}
{{- end }}

{{/*
The declarative subscriptions of dapr/subscriptions/ (tests/deploy compares them
field by field, so adding one there without adding it here fails a test). The KEDA
triggers are derived from this list too: a function's Kafka triggers are exactly
the topics it subscribes to on `pubsub`.
*/}}
{{- define "taskwave.subscriptions" -}}
- {name: recurring-task-events, pubsub: pubsub, topic: task-events, route: /events/task-events, dlq: "", ownDlq: task-events-dlq, app: recurring, match: 'event.type == "task.completed" && has(event.data.task) && has(event.data.task.recurrence) && event.data.task.recurrence != null'}
- {name: reminders-task-events, pubsub: pubsub, topic: task-events, route: /events/task-events, dlq: "", ownDlq: task-events-dlq, app: reminders, match: 'event.type.startsWith("task.") && has(event.data.task) && has(event.data.task.reminders) && ((size(event.data.task.reminders) > 0 && (event.type != "task.updated" || event.data.task.status == "open" || (has(event.data.changed) && "status" in event.data.changed))) || (has(event.data.changed) && "reminders" in event.data.changed))'}
- {name: audit-task-events, pubsub: pubsub, topic: task-events, route: /events/task-events, dlq: "", ownDlq: task-events-dlq, app: audit, bulk: {max: 100, awaitMs: 500}}
- {name: audit-reminders, pubsub: pubsub, topic: reminders, route: /events/reminders, dlq: "", ownDlq: reminders-dlq, app: audit, bulk: {max: 100, awaitMs: 500}}
- {name: audit-task-events-dlq, pubsub: pubsub, topic: task-events-dlq, route: /events/dead-letters, dlq: "", app: audit}
- {name: audit-reminders-dlq, pubsub: pubsub, topic: reminders-dlq, route: /events/dead-letters, dlq: "", app: audit}
- {name: audit-task-updates-dlq, pubsub: pubsub, topic: task-updates-dlq, route: /events/dead-letters, dlq: "", app: audit}
- {name: realtime-task-updates, pubsub: pubsub-fanout, topic: task-updates, route: /events/task-updates, dlq: "", ownDlq: task-updates-dlq, app: realtime, raw: true, bulk: {max: 100, awaitMs: 50}}
{{- end }}
