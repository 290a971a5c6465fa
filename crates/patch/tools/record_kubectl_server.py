#!/usr/bin/env python3
"""Minimal fake API server that records the PATCH/POST bodies real kubectl sends.

Usage: record_kubectl_server.py PORT; then `kubectl --server=http://127.0.0.1:PORT --validate=false
apply -f x.yaml` (twice, with a changed manifest); bodies land in /tmp/kfake/log.jsonl.
Used to record the fixtures in src/smp/fixtures.
"""
import json, sys, http.server, os
STATE = {}
LOG = open('/tmp/kfake/log.jsonl', 'a')
core = {"kind":"APIResourceList","groupVersion":"v1","resources":[
 {"name":"configmaps","singularName":"configmap","namespaced":True,"kind":"ConfigMap","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["cm"]},
 {"name":"services","singularName":"service","namespaced":True,"kind":"Service","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["svc"]},
 {"name":"namespaces","singularName":"namespace","namespaced":False,"kind":"Namespace","verbs":["get","list"]}]}
apps = {"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
 {"name":"deployments","singularName":"deployment","namespaced":True,"kind":"Deployment","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["deploy"]}]}
class H(http.server.BaseHTTPRequestHandler):
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type','application/json')
        self.send_header('Content-Length',str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path.split('?')[0]
        if p == '/api': return self.send(200, {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})
        if p == '/apis': return self.send(200, {"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]})
        if p == '/api/v1': return self.send(200, core)
        if p == '/apis/apps/v1': return self.send(200, apps)
        if p == '/version': return self.send(200, {"major":"1","minor":os.environ.get("MINOR","33"),"gitVersion":"v1.33.0"})
        if p in STATE: return self.send(200, STATE[p])
        return self.send(404, {"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not found"})
    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n)
    def do_POST(self):
        b = self.body(); obj = json.loads(b)
        p = self.path.split('?')[0] + '/' + obj['metadata']['name']
        obj['metadata'].setdefault('namespace','default')
        STATE[p] = obj
        LOG.write(json.dumps({"method":"POST","path":self.path,"ct":self.headers.get('Content-Type'),"body":b.decode()})+"\n"); LOG.flush()
        return self.send(201, obj)
    def do_PATCH(self):
        b = self.body()
        LOG.write(json.dumps({"method":"PATCH","path":self.path,"ct":self.headers.get('Content-Type'),"body":b.decode()})+"\n"); LOG.flush()
        p = self.path.split('?')[0]
        # the result is posted back by the test driver through PUT-like file
        nxt = '/tmp/kfake/next.json'
        if os.path.exists(nxt):
            STATE[p] = json.load(open(nxt)); os.remove(nxt)
        return self.send(200, STATE.get(p, {}))
    def do_PUT(self):
        b = self.body(); STATE[self.path.split('?')[0]] = json.loads(b)
        return self.send(200, json.loads(b))
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
