// Starts the vendored Swagger UI on the platform's own OpenAPI document (no CDN).
window.onload = function () {
  window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
};
