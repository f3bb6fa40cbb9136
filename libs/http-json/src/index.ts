export { HttpJsonClient, HttpJsonError, type HttpJsonClientOptions, type HttpJsonRequest, type HttpJsonResponse } from './http-json-client';
