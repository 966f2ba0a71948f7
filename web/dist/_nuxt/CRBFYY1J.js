import{a0 as s}from"./CELb5j37.js";const t=s("/favicon.svg");export{t as _};
