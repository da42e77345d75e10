{{- define "soroka.labels" -}}
app.kubernetes.io/name: soroka
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: soroka
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "soroka.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "soroka.serviceAccount" -}}
{{ .Values.serviceAccount.name | default (printf "%s-operator" .Release.Name) }}
{{- end -}}

{{- define "soroka.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "soroka.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}
