{{/* Chart name, truncated to the 63 characters Kubernetes names allow. */}}
{{- define "feast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "feast.fullname" -}}
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

{{- define "feast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "feast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "feast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "feast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "feast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "feast.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "feast.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Environment shared by the server and the materialization job. */}}
{{- define "feast.env" -}}
- name: FEAST_FS_YAML_FILE_PATH
  value: /etc/feast/feature_store.yaml
- name: FEATURE_REPO_DIR
  value: /feast/repo
{{- range .Values.secretEnv }}
- name: {{ required "secretEnv[].name is required" .name }}
  valueFrom:
    secretKeyRef:
      name: {{ required "secretEnv[].secretName is required" .secretName }}
      key: {{ required "secretEnv[].key is required" .key }}
      {{- if hasKey . "optional" }}
      optional: {{ .optional }}
      {{- end }}
{{- end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes shared by the server and the materialization job. */}}
{{- define "feast.volumes" -}}
- name: config
  configMap:
    name: {{ include "feast.fullname" . }}
- name: repo
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end }}

{{- define "feast.volumeMounts" -}}
- name: config
  mountPath: /etc/feast
  readOnly: true
- name: repo
  mountPath: /feast/repo
- name: tmp
  mountPath: /tmp
{{- end }}
