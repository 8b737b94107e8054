{{/* Expand the name of the chart. */}}
{{- define "az-traffic-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A fully qualified app name, at most 63 characters (DNS names). */}}
{{- define "az-traffic-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "az-traffic-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "az-traffic-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "az-traffic-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "az-traffic-exporter.labels" -}}
helm.sh/chart: {{ include "az-traffic-exporter.chart" . }}
{{ include "az-traffic-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: az-traffic-exporter
{{- end }}

{{- define "az-traffic-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "az-traffic-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "az-traffic-exporter.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The exporter's container: the DaemonSet (or flowlogs mode's Deployment) runs it, sidecar mode renders it for pasting. */}}
{{- define "az-traffic-exporter.container" -}}
name: az-traffic-exporter
image: {{ include "az-traffic-exporter.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - serve
  {{- if eq .Values.mode "flowlogs" }}
  - --flow-logs.url={{ required "flowLogs.url (s3://BUCKET/PREFIX) is required in flowlogs mode" .Values.flowLogs.url }}
  - --flow-logs.state=/var/lib/az-traffic-exporter/state.json
  - --flow-logs.poll-interval={{ .Values.flowLogs.pollInterval }}
  - --flow-logs.since={{ .Values.flowLogs.since }}
  {{- end }}
  {{- with .Values.interface }}
  - --interface={{ . }}
  {{- end }}
  - --web.listen-address=:{{ .Values.port }}
  - --ip-ranges.cache=/var/cache/az-traffic-exporter/ip-ranges.json
  {{- if .Values.topology }}
  - --topology.file=/etc/az-traffic-exporter/topology.yaml
  {{- end }}
  {{- if .Values.prices }}
  - --prices.file=/etc/az-traffic-exporter/prices.yaml
  {{- end }}
  {{- if eq .Values.mode "sidecar" }}
  - --workload.fixed=$(POD_NAMESPACE)/Pod/$(POD_NAME)
  - --workload.processes=false
  {{- else if eq .Values.mode "flowlogs" }}
  {{- /* flow logs name their interfaces' owners: no pod watch, no processes */}}
  {{- else if .Values.attribution.enabled }}
  - --kubernetes.node-name=$(NODE_NAME)
  - --workload.processes={{ .Values.attribution.processes }}
  {{- else }}
  - --workload.attribution=false
  {{- end }}
  {{- with .Values.extraArgs }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
env:
  {{- if eq .Values.mode "sidecar" }}
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  {{- else if ne .Values.mode "flowlogs" }}
  - name: NODE_NAME
    valueFrom:
      fieldRef:
        fieldPath: spec.nodeName
  {{- end }}
  {{- with .Values.env }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
ports:
  - name: metrics
    containerPort: {{ .Values.port }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /-/healthy
    port: metrics
  periodSeconds: 20
readinessProbe:
  httpGet:
    {{- /* a sidecar's readiness is its pod's: a topology source that never answers (IMDS behind a hop
    limit of 1) must not take the application out of its Services */}}
    path: {{ if eq .Values.mode "sidecar" }}/-/healthy{{ else }}/-/ready{{ end }}
    port: metrics
  periodSeconds: 10
{{- with (eq .Values.mode "flowlogs" | ternary .Values.flowLogs.resources .Values.resources) }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (eq .Values.mode "flowlogs" | ternary .Values.flowLogs.securityContext (and (eq .Values.mode "daemonset") .Values.attribution.enabled .Values.attribution.processes | ternary .Values.attribution.securityContext .Values.securityContext)) }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  - name: cache
    mountPath: /var/cache/az-traffic-exporter
  {{- if eq .Values.mode "flowlogs" }}
  - name: state
    mountPath: /var/lib/az-traffic-exporter
  {{- end }}
  {{- if or .Values.topology .Values.prices }}
  - name: config
    mountPath: /etc/az-traffic-exporter
    readOnly: true
  {{- end }}
{{- end }}

{{- define "az-traffic-exporter.volumes" -}}
- name: cache
  emptyDir: {}
{{- if eq .Values.mode "flowlogs" }}
- name: state
  {{- if .Values.flowLogs.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "az-traffic-exporter.fullname" . }}-state
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- if or .Values.topology .Values.prices }}
- name: config
  configMap:
    name: {{ include "az-traffic-exporter.fullname" . }}-config
{{- end }}
{{- end }}


{{- /*
A sidecar for another chart's pod template: every byte of the pod is its workload's.
  containers:
    - {{- include "az-traffic-exporter.sidecar" (dict "kind" "Deployment" "name" "checkout") | nindent 6 }}
Keys: kind and name (the workload), image (default the published image), port (default 9977), args (more flags).
*/}}
{{- define "az-traffic-exporter.sidecar" -}}
name: az-traffic-exporter
image: {{ .image | default "ghcr.io/az-traffic-exporter/az-traffic-exporter:0.1.0" }}
args:
  - serve
  - --web.listen-address=:{{ .port | default 9977 }}
  - --workload.fixed=$(POD_NAMESPACE)/{{ required "kind: Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod" .kind }}/{{ required "name: the workload's name" .name }}
  - --workload.processes=false
  - --ip-ranges.cache=/tmp/ip-ranges.json
  {{- with .args }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
env:
  - name: POD_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
ports:
  - name: aztraffic
    containerPort: {{ .port | default 9977 }}
    protocol: TCP
readinessProbe:
  httpGet:
    {{- /* its pod's readiness: the exporter's own (/-/ready) must not take the application out of its
    Services while a topology source has not answered */}}
    path: /-/healthy
    port: aztraffic
resources:
  requests:
    cpu: 20m
    memory: 64Mi
  limits:
    memory: 256Mi
securityContext:
  capabilities:
    drop: [ALL]
    add: [NET_RAW]
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: true
  runAsNonRoot: true
  runAsUser: 10001
{{- end }}
