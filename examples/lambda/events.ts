import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * Builds an API Gateway HTTP API v2.0 event as the gateway sends it for the `$default` route
 * (the shape recorded from serverless-offline and documented by AWS).
 */
export function v2Event(
  method: string,
  rawPath: string,
  init: { headers?: Record<string, string>; body?: string; base64?: boolean; rawQueryString?: string } = {},
): APIGatewayProxyEventV2 {
  const rawQueryString = init.rawQueryString ?? '';
  const time = new Date('2026-01-01T00:00:00Z');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    cookies: [],
    headers: { host: '127.0.0.1:4000', 'user-agent': 'vitest', accept: '*/*', ...init.headers },
    ...(rawQueryString === '' ? {} : { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api-id',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request-id',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: time.getTime(),
    },
    pathParameters: { default: rawPath.slice(1) },
    ...(init.body === undefined ? {} : { body: init.base64 ? Buffer.from(init.body).toString('base64') : init.body }),
    isBase64Encoded: init.base64 ?? false,
    stageVariables: undefined,
  } as APIGatewayProxyEventV2;
}
