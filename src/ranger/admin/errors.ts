import type { ErrorShaper } from "../../http/error-handler.ts";

/**
 * Ranger admin's error body (`VXResponse`: `statusCode` 1 = error, `msgDesc`, `messageList`), which
 * Ranger's REST clients and plugins read (`RangerRESTClient`, the Python `apache-ranger` client
 * raise with `msgDesc`). The HTTP status stays Gatehouse's (400, 401, 403, 404, 409); server faults
 * say nothing beyond "internal error" (the log has the rest); a 501 (an operation deliberately not
 * served) says which and why.
 */
export const rangerErrorShape: ErrorShaper = (error) => {
  // 501 is a deliberate refusal (an operation Gatehouse does not serve), so its reason is shown.
  const internal = error.status >= 500 && error.status !== 501;
  return {
    status: error.status,
    body: {
      statusCode: 1,
      msgDesc: internal ? "internal error" : error.message,
      messageList: internal ? [] : error.details.map((d) => ({ name: d.rule, rbKey: d.field, message: d.message })),
      code: error.code,
    },
  };
};
