"""A Kubernetes API stand-in for the operator's end-to-end tests: kmock's emulator, made kopf-ready.

kmock 0.8's KubernetesEmulator stores objects and serves list/watch/CRUD over real HTTP. This subclass
adds what kopf 1.45 and the kubernetes client rely on: resourceVersion/uid/generation stamping,
generateName, JSON-patch with `test` (422 on mismatch), status subresource semantics, lists with a real
resourceVersion, watches that resume from `?resourceVersion`, CRD registration into discovery, and an
audit of (group, resource, verb) per client so the chart's RBAC can be compared with what was used.
Still absent, as on purpose: schema validation, defaulting, CEL, garbage collection, admission.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import kmock
from kmock._internal import enums, rendering

TEST_AGENT = "soroka-tests"
VERBS = {
    enums.action.LIST: "list",
    enums.action.WATCH: "watch",
    enums.action.FETCH: "get",
    enums.action.CREATE: "create",
    enums.action.UPDATE: "patch",
    enums.action.DELETE: "delete",
}
CORE = {"v1/configmaps", "v1/services", "v1/secrets", "v1/events", "v1/namespaces", "v1/pods"}


class Invalid(kmock.KubernetesError):
    pass


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def json_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add/replace/remove/test, enough for kopf and kubectl."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [_unescape(p) for p in op["path"].lstrip("/").split("/")] if op["path"] != "" else []
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1] if parts else ""
        kind = op["op"]
        if kind == "test":
            current = (parent[int(last)] if isinstance(parent, list) else parent.get(last)) if parts else doc
            if current != op.get("value"):
                raise Invalid(status=422, reason="Invalid", message=f"test failed at {op['path']}")
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif kind == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                parent[last] = op["value"]
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                parent.pop(last, None)
        else:
            raise Invalid(status=422, reason="Invalid", message=f"unsupported op {kind}")
    return doc


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386 (the emulator treats strategic merge the same: lists are replaced)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class KubeEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    """The stateful emulator with the additions above; `audit` lists (client, group, resource, verb)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._rv = 0
        self._log: list[tuple[int, Any, dict[str, Any]]] = []
        self._subscribers: dict[Any, list[asyncio.Queue[dict[str, Any]]]] = defaultdict(list)
        self.audit: list[tuple[str, str, str, str]] = []
        for key in CORE:
            self.resources[key] = kmock.ResourceInfo(namespaced=key != "v1/namespaces")
        self.resources["apps/v1/deployments"] = kmock.ResourceInfo(namespaced=True, kind="Deployment")

    # --- bookkeeping -------------------------------------------------------------------------------------
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _publish(self, resource: Any, kind: str, obj: dict[str, Any]) -> None:
        rv = int(obj.get("metadata", {}).get("resourceVersion", self._rv))
        event = {"type": kind, "object": copy.deepcopy(obj)}
        self._log.append((rv, resource, event))
        for queue in self._subscribers[resource]:
            queue.put_nowait(event)

    def _record(self, request: Any) -> None:
        verb = VERBS.get(request.action)
        if request.resource is None or request.resource.plural is None or verb is None:
            return
        if request.method == enums.method.PUT:
            verb = "update"
        agent = request.headers.get("User-Agent", "")
        if TEST_AGENT in agent:
            return
        plural = request.resource.plural + (f"/{request.subresource}" if request.subresource else "")
        self.audit.append((agent.split("/", 1)[0], request.resource.group or "", plural, verb))

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served", True):
                self.resources[f"{spec['group']}/{version['name']}/{spec['names']['plural']}"] = (
                    kmock.ResourceInfo(
                        namespaced=spec["scope"] == "Namespaced",
                        kind=spec["names"]["kind"],
                        singular=spec["names"].get("singular"),
                        verbs={"get", "list", "watch", "create", "patch", "update", "delete"},
                        subresources=set(version.get("subresources", {})),
                    )
                )
        crd["status"] = {"conditions": [{"type": "Established", "status": "True"}]}

    # --- mutations ---------------------------------------------------------------------------------------
    def _create(self, request: Any) -> None:
        data = request.data
        meta = data.setdefault("metadata", {})
        if request.namespace and not meta.get("namespace"):
            meta["namespace"] = request.namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        key = (request.resource, meta.get("namespace"), meta["name"])
        if key in self._objects and not self._objects[key].deleted:
            raise kmock.KubernetesError(status=409, reason="AlreadyExists", message=f"{meta['name']} exists")
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_rv(),
            generation=1,
            creationTimestamp=datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        if request.resource.plural == "customresourcedefinitions":
            self._register_crd(data)
        if key in self._objects:
            self._objects[key].create(data)
        else:
            self._objects[key] = data
        self._publish(request.resource, "ADDED", data)

    def _patch(self, request: Any) -> None:
        key = (request.resource, request.namespace, request.name)
        if key not in self._objects or self._objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError()
        old = copy.deepcopy(self._objects[key].raw)
        data = request.data
        new = json_patch(old, data) if isinstance(data, list) else merge_patch(old, data)
        if request.subresource == "status":  # only the status moves through /status
            new = {**old, "status": new.get("status")}
        elif self.resources.get(request.resource) is not None and "status" in (
            self.resources[request.resource].subresources
        ):
            new["status"] = old.get("status")  # and never through the main resource
        new = {k: v for k, v in new.items() if v is not None}
        if new.get("spec") != old.get("spec"):
            new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._objects[key].history.append(new)
        self._publish(request.resource, "MODIFIED", new)

    def _delete(self, request: Any) -> Any:
        key = (request.resource, request.namespace, request.name)
        if key not in self._objects or self._objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError()
        obj = copy.deepcopy(self._objects[key].raw)
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = datetime.datetime.now(tz=datetime.UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                meta["resourceVersion"] = self._next_rv()
                self._objects[key].history.append(obj)
                self._publish(request.resource, "MODIFIED", obj)
            return None
        return key

    async def _handle(self, request: Any) -> Any:
        self._record(request)
        delete_key = None
        if request.resource is not None:
            async with self._lock:
                if request.action == enums.action.CREATE:
                    self._create(request)
                elif request.action == enums.action.UPDATE and request.name is not None:
                    self._patch(request)
                    obj = self._objects[(request.resource, request.namespace, request.name)].raw
                    if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
                        delete_key = (request.resource, request.namespace, request.name)
                elif request.action == enums.action.DELETE and request.name is not None:
                    delete_key = self._delete(request)
        try:
            return await kmock.RawHandler._handle(self, request)
        finally:
            if delete_key is not None:
                async with self._lock:
                    raw = copy.deepcopy(self._objects[delete_key].raw)
                    raw["metadata"]["resourceVersion"] = self._next_rv()
                    self._objects[delete_key].delete()
                    self._publish(delete_key[0], "DELETED", raw)

    # --- reads -------------------------------------------------------------------------------------------
    def _visible(self, request: Any, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata", {})
        if request.namespace is not None and meta.get("namespace") != request.namespace:
            return False
        return request.name is None or meta.get("name") == request.name

    def _current(self, request: Any) -> list[dict[str, Any]]:
        return [
            obj.raw
            for (res, _, _), obj in self._objects.items()
            if res == request.resource and not obj.deleted and self._visible(request, obj.raw)
        ]

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        async with self._lock:
            if request.resource not in self._get_resources():
                raise kmock.KubernetesResourceNotFoundError()
            items = copy.deepcopy(self._current(request))
        return {
            "kind": "List",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        since = request.params.get("resourceVersion")
        async with self._lock:
            if since:
                backlog = [e for rv, res, e in self._log if rv > int(since) and res == request.resource]
            else:
                backlog = [{"type": "ADDED", "object": copy.deepcopy(o)} for o in self._current(request)]
            self._subscribers[request.resource].append(queue)
        try:
            for event in backlog:
                if self._visible(request, event["object"]):
                    yield event
            while True:
                event = await queue.get()
                if self._visible(request, event["object"]):
                    yield event
        finally:
            self._subscribers[request.resource].remove(queue)
