"""What the check scripts share: the status a tritonclient call ends with."""
from tritonclient.utils import InferenceServerException


def status_of(fn):
    """"OK", or the status of the InferenceServerException `fn` raises ("StatusCode.NOT_FOUND"
    from tritonclient.grpc, "404" from tritonclient.http)."""
    try:
        fn()
        return "OK"
    except InferenceServerException as e:
        return str(e.status())
