"""The Kubernetes API, side by side: the two clients and what is built on them.

=============  ====================================================================
``lite``       a small asyncio HTTPS client (the node agent's few GETs and its
               EndpointSlice watch), so node mode never imports ``kubernetes``
``api``        the ``kubernetes`` package as the cluster readers use it
``credentials``  in-cluster ServiceAccount or kubeconfig, for both
``leader``     Lease election on ``api``
``rbac``       the API requests each config makes, as RBAC rules
=============  ====================================================================
"""
