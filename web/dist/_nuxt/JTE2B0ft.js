import{a1 as s}from"./CiJvEE9a.js";const t=s("/favicon.svg");export{t as _};
